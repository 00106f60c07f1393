package storage

// Page asks for one page of a list ordered by primary key: rows after the key
// After (exclusive; "" for the first page), at most Limit rows.
type Page struct {
	After string
	Limit int
}

// maxPageLimit bounds a page so one request cannot read a whole table.
const maxPageLimit = 1000

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > maxPageLimit:
		return maxPageLimit
	}
	return p.Limit
}

// nextAfter returns the key to pass as Page.After for the next page, or "" if
// this was the last.
func nextAfter[T any](rows []T, limit int, key func(T) string) string {
	if len(rows) < limit || len(rows) == 0 {
		return ""
	}
	return key(rows[len(rows)-1])
}
