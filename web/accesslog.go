package web

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
)

// AccessLog writes one line per request: method, path without the query
// (queries carry codes, hints and tokens), matched route, status, size,
// duration and client IP. 5xx are errors, 4xx warnings, the rest info.
// It runs after the error handler has written the response, so the status is
// the one the client saw.
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the response now, so its status is logged
			}
			req, res := c.Request(), c.Response()
			status := res.Status
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case status >= 400:
				level = slog.LevelWarn
			}
			log.LogAttrs(req.Context(), level, "request",
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.String("route", c.Path()),
				slog.Int("status", status),
				slog.Int64("bytes", res.Size),
				slog.Duration("duration", time.Since(start)),
				slog.String("ip", c.RealIP()),
			)
			return nil
		}
	}
}
