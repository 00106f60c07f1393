package storage

import (
	"encoding/json"
	"fmt"
)

// jsonText renders v as JSON text for a column written through a map update
// (gorm applies serializer tags only to struct writes). Both drivers accept
// text for json columns: SQLite stores it, PostgreSQL parses it into jsonb.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("storage: encode json column: %w", err)
	}
	return string(b), nil
}
