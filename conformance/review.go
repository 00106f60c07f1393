package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// reviewer saves what a REVIEW module ends on: the page's HTML and a PNG screenshot
// taken by headless Chromium from that saved HTML (file://, no network: the
// host-resolver rule maps every name to nothing, so a page's external fonts or images
// fail at once instead of reaching the internet).
type reviewer struct {
	dir      string
	chromium string
	sem      chan struct{}
}

func newReviewer(outDir, chromium string) *reviewer {
	return &reviewer{dir: filepath.Join(outDir, "review"), chromium: chromium, sem: make(chan struct{}, 2)}
}

func (r *reviewer) save(ctx context.Context, slug string, n int, placeholder string, p *Page) Screenshot {
	shot := Screenshot{Placeholder: placeholder, URL: p.URL}
	if r.dir == "" || r.dir == "review" {
		shot.Error = "no output directory"
		return shot
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		shot.Error = err.Error()
		return shot
	}
	base := filepath.Join(r.dir, fmt.Sprintf("%s-%d", slug, n))
	shot.HTML = base + ".html"
	if err := os.WriteFile(shot.HTML, p.Body, 0o644); err != nil {
		shot.Error = err.Error()
		return shot
	}
	if r.chromium == "" {
		shot.Error = "screenshots disabled (no chromium)"
		return shot
	}
	png := base + ".png"
	if err := r.screenshot(ctx, shot.HTML, png); err != nil {
		shot.Error = err.Error()
		return shot
	}
	shot.PNG = png
	return shot
}

func (r *reviewer) screenshot(ctx context.Context, htmlPath, png string) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	profile, err := os.MkdirTemp("", "conformance-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	abs, _ := filepath.Abs(htmlPath)
	pngAbs, _ := filepath.Abs(png)
	cctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, r.chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-dev-shm-usage", "--hide-scrollbars",
		`--host-resolver-rules=MAP * ~NOTFOUND`,
		"--user-data-dir="+profile, "--screenshot="+pngAbs, "--window-size=1280,900",
		"file://"+abs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("chromium: %v: %s", err, lastLine(string(out)))
	}
	if st, err := os.Stat(pngAbs); err != nil || st.Size() == 0 {
		return fmt.Errorf("chromium wrote no screenshot: %s", lastLine(string(out)))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
