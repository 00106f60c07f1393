package main

// Loading the configuration: the layers (defaults < YAML < environment <
// flags), *_FILE secrets, and YAML errors that name their key.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// loadConfig builds the effective configuration from its layers and
// validates it. Every problem, from any layer, is reported in one error.
func loadConfig(path string, getenv func(string) string, flags *pflag.FlagSet) (Config, error) {
	c := defaultConfig()
	var probs problems
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				keys := yamlKeyLines(raw)
				for _, e := range te.Errors {
					probs.add("%s: %s", path, explainYAMLError(e, keys))
				}
			} else {
				probs.add("%s: %v", path, err)
			}
		}
	}
	for _, s := range settings(&c) {
		val, fromFile, ok := lookupEnv(s, getenv, &probs)
		if !ok {
			continue
		}
		if err := setValue(s.ptr, val); err != nil {
			src := s.env
			if fromFile {
				src = s.env + "_FILE"
			}
			probs.add("%s: %v", src, err)
		}
	}
	if flags != nil {
		for _, s := range settings(&c) {
			if s.flag == "" {
				continue
			}
			f := flags.Lookup(s.flag)
			if f == nil || !f.Changed {
				continue
			}
			if err := setValue(s.ptr, f.Value.String()); err != nil {
				probs.add("--%s: %v", s.flag, err)
			}
		}
	}
	probs = append(probs, c.validate()...)
	return c, probs.err()
}

// lookupEnv returns the setting's value from JANUA_X or, for secrets, from
// the file named by JANUA_X_FILE.
func lookupEnv(s setting, getenv func(string) string, probs *problems) (val string, fromFile, ok bool) {
	direct := getenv(s.env)
	file := ""
	if s.secret {
		file = getenv(s.env + "_FILE")
	}
	switch {
	case direct != "" && file != "":
		probs.add("%s and %s_FILE are both set; set one", s.env, s.env)
		return "", false, false
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			probs.add("%s_FILE: %v", s.env, err)
			return "", true, false
		}
		return strings.TrimRight(string(b), "\r\n"), true, true
	case direct != "":
		return direct, false, true
	}
	return "", false, false
}

// setValue parses text into the setting's typed field.
func setValue(ptr any, text string) error {
	switch p := ptr.(type) {
	case *string:
		*p = text
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("%q is not an integer", text)
		}
		*p = n
	case *uint32:
		n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a non-negative integer", text)
		}
		*p = uint32(n)
	case *uint8:
		n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 8)
		if err != nil {
			return fmt.Errorf("%q is not an integer from 0 to 255", text)
		}
		*p = uint8(n)
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 90s, 15m, 24h)", text)
		}
		*p = d
	case *[]string:
		// pflag's string slices print as [a,b]; accept that and plain a,b.
		text = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(text), "["), "]")
		var out []string
		for _, part := range strings.Split(text, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		*p = out
	default:
		return fmt.Errorf("unsupported setting type %T", ptr)
	}
	return nil
}

// formatValue renders a setting for `janua config`.
func formatValue(ptr any) any {
	switch p := ptr.(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *uint32:
		return *p
	case *uint8:
		return *p
	case *bool:
		return *p
	case *time.Duration:
		return p.String()
	case *[]string:
		if *p == nil {
			return []string{}
		}
		return *p
	}
	return nil
}

// yamlKeyLines maps each line of a YAML document that holds a key to the
// key's dotted path, so decoding errors can name the setting.
func yamlKeyLines(raw []byte) map[int]string {
	var doc yaml.Node
	out := map[int]string{}
	if yaml.Unmarshal(raw, &doc) != nil {
		return out
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if prefix != "" {
					p = prefix + "." + k.Value
				}
				out[k.Line] = p
				if v.Line != k.Line {
					out[v.Line] = p
				}
				walk(v, p)
			}
		}
	}
	walk(&doc, "")
	return out
}

// explainYAMLError turns "line 4: cannot unmarshal !!str `soon` into
// time.Duration" into "gc.interval (line 4): `soon` is not a valid
// time.Duration", and unknown fields into "colour (line 5): unknown setting".
func explainYAMLError(msg string, keys map[int]string) string {
	var line int
	var rest string
	if n, err := fmt.Sscanf(msg, "line %d:", &line); n != 1 || err != nil {
		return msg
	}
	rest = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	key, ok := keys[line]
	if !ok {
		return msg
	}
	switch {
	case strings.HasPrefix(rest, "field ") && strings.Contains(rest, " not found in type "):
		return fmt.Sprintf("%s (line %d): unknown setting", key, line)
	case strings.HasPrefix(rest, "cannot unmarshal "):
		// "cannot unmarshal !!str `soon` into time.Duration"
		what := strings.TrimPrefix(rest, "cannot unmarshal ")
		if i := strings.Index(what, " into "); i > 0 {
			val, typ := what[:i], what[i+len(" into "):]
			if _, v, ok := strings.Cut(val, " "); ok {
				val = v
			}
			switch typ {
			case "time.Duration":
				typ = "duration (like 90s, 15m, 24h)"
			case "[]string":
				typ = "list"
			}
			return fmt.Sprintf("%s (line %d): %s is not a valid %s", key, line, val, typ)
		}
		return fmt.Sprintf("%s (line %d): %s", key, line, what)
	}
	return fmt.Sprintf("%s (line %d): %s", key, line, rest)
}
