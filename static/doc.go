// Package static embeds the stylesheet, images and scripts the pages use and
// serves them under content-hashed names (/static/janua.3fa9c1d2.css) with a
// year-long immutable cache, so a new release never meets a stale asset.
package static
