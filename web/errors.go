package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Error is an application error with what the client may see: a status, a
// stable machine code and a safe message. Err, the cause, goes only to the log.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
	logged  bool
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorPage renders the styled error page for status with a safe message.
type ErrorPage func(c echo.Context, status int, title, message string) error

// ErrorHandler is the one echo.HTTPErrorHandler. Clients that ask for JSON get
// {"error","message","request_id"}; browsers get the styled page. 5xx causes
// are logged once with the request ID; clients see only a generic message.
func ErrorHandler(log *slog.Logger, page ErrorPage) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		ctx := c.Request().Context()
		if c.Response().Committed {
			log.WarnContext(ctx, "error after the response was sent", "err", err)
			return
		}
		status, code, title, msg := classify(err)
		if status >= 500 {
			var we *Error
			if !errors.As(err, &we) || !we.logged {
				log.ErrorContext(ctx, "request failed", "err", err)
			}
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(status)
		case wantsJSON(c.Request()):
			werr = c.JSON(status, map[string]string{"error": code, "message": msg, "request_id": RequestID(ctx)})
		default:
			werr = page(c, status, title, msg)
		}
		if werr != nil {
			log.ErrorContext(ctx, "writing the error response failed", "err", werr)
		}
	}
}

// classify maps an error to what the client sees.
func classify(err error) (status int, code, title, msg string) {
	var we *Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &we):
		status = we.Status
		code, msg = we.Code, we.Message
	case errors.As(err, &he):
		status = he.Code
		if m, ok := he.Message.(string); ok && status < 500 {
			msg = m
		}
	default:
		status = http.StatusInternalServerError
	}
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	if code == "" {
		code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	}
	title = http.StatusText(status)
	switch {
	case status == http.StatusNotFound:
		if msg == "" || msg == http.StatusText(status) {
			msg = "There is nothing at this address. Check the link, or start again from the application you came from."
		}
	case status >= 500:
		// Never echo internals.
		msg = "Something went wrong on our side. Please try again in a moment."
	case msg == "":
		msg = http.StatusText(status) + "."
	}
	return status, code, title, msg
}

// wantsJSON reports whether the client prefers JSON to HTML.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "text/html") {
		return false
	}
	return strings.Contains(accept, "application/json") || strings.Contains(accept, "+json") ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}
