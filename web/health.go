package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Check is one readiness dependency (the database, Redis).
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Live answers /health/live: the process serves HTTP.
func Live(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// Ready answers /health/ready: 200 when every check passes within its
// timeout, 503 naming the failing ones otherwise. Failure details go to the
// log, not to the (unauthenticated) client.
func Ready(log *slog.Logger, checks []Check, timeout time.Duration) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		results := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		ok := true
		for _, ch := range checks {
			wg.Go(func() {
				err := ch.Func(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ok = false
					results[ch.Name] = "unavailable"
					log.ErrorContext(c.Request().Context(), "readiness check failed", "check", ch.Name, "err", err)
					return
				}
				results[ch.Name] = "ok"
			})
		}
		wg.Wait()
		c.Response().Header().Set("Cache-Control", "no-store")
		status, word := http.StatusOK, "ok"
		if !ok {
			status, word = http.StatusServiceUnavailable, "unavailable"
		}
		return c.JSON(status, map[string]any{"status": word, "checks": results})
	}
}
