package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/labstack/echo/v4"
)

// Recover turns a panic in a handler into a 500 answered by the error
// handler, and logs it once with its stack.
func Recover(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r)
				}
				stack := make([]byte, 8<<10)
				stack = stack[:runtime.Stack(stack, false)]
				log.ErrorContext(c.Request().Context(), "panic in handler",
					"panic", fmt.Sprint(r), "stack", string(stack))
				err = &Error{Status: http.StatusInternalServerError, logged: true}
			}()
			return next(c)
		}
	}
}
