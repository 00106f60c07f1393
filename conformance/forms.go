package conformance

import (
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// form is an HTML form as a browser sees it (HTML Living Standard §4.10): where it
// submits, how, its successful controls and its submit buttons, including buttons
// placed outside it with a form="id" attribute.
type form struct {
	ID      string
	Action  string
	Method  string
	Enctype string
	Fields  []field
	Buttons []field
}

type field struct {
	Name, Type, Value, Text string
	Checked                 bool
}

// parseForms returns every form of an HTML document, in document order.
func parseForms(r io.Reader) ([]*form, string, error) {
	doc, err := html.Parse(r)
	if err != nil {
		return nil, "", err
	}
	var forms []*form
	byID := map[string]*form{}
	var orphans []struct {
		f    field
		form string
	}
	var title string
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Title:
				title = strings.TrimSpace(textOf(n))
			case atom.Form:
				f := &form{
					ID:      attr(n, "id"),
					Action:  attr(n, "action"),
					Method:  strings.ToUpper(attr(n, "method")),
					Enctype: strings.ToLower(attr(n, "enctype")),
				}
				if f.Method == "" {
					f.Method = "GET"
				}
				forms = append(forms, f)
				if f.ID != "" {
					byID[f.ID] = f
				}
				cur = f
			case atom.Input, atom.Button, atom.Select, atom.Textarea:
				fl, isButton := control(n)
				target := cur
				if owner := attr(n, "form"); owner != "" {
					target = nil
					orphans = append(orphans, struct {
						f    field
						form string
					}{fl, owner})
				}
				if target != nil && !hasAttr(n, "disabled") {
					if isButton {
						target.Buttons = append(target.Buttons, fl)
					} else if fl.Name != "" {
						target.Fields = append(target.Fields, fl)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	for _, o := range orphans {
		if f := byID[o.form]; f != nil {
			if o.f.Type == "submit" || o.f.Type == "image" {
				f.Buttons = append(f.Buttons, o.f)
			} else if o.f.Name != "" {
				f.Fields = append(f.Fields, o.f)
			}
		}
	}
	return forms, title, nil
}

// control describes a form control; the second result says it is a submit button.
func control(n *html.Node) (field, bool) {
	f := field{Name: attr(n, "name"), Type: strings.ToLower(attr(n, "type")), Value: attr(n, "value"), Checked: hasAttr(n, "checked")}
	switch n.DataAtom {
	case atom.Button:
		if f.Type == "" {
			f.Type = "submit"
		}
		f.Text = strings.TrimSpace(textOf(n))
		return f, f.Type == "submit"
	case atom.Select:
		f.Type = "select"
		var first, selected string
		var found bool
		var walk func(*html.Node)
		walk = func(c *html.Node) {
			if c.Type == html.ElementNode && c.DataAtom == atom.Option {
				v := attr(c, "value")
				if !hasAttr(c, "value") {
					v = strings.TrimSpace(textOf(c))
				}
				if first == "" {
					first = v
				}
				if hasAttr(c, "selected") && !found {
					selected, found = v, true
				}
			}
			for k := c.FirstChild; k != nil; k = k.NextSibling {
				walk(k)
			}
		}
		walk(n)
		f.Value = first
		if found {
			f.Value = selected
		}
		return f, false
	case atom.Textarea:
		f.Type = "textarea"
		f.Value = textOf(n)
		return f, false
	}
	if f.Type == "" {
		f.Type = "text"
	}
	if f.Type == "submit" || f.Type == "image" {
		f.Text = f.Value
		return f, true
	}
	return f, false
}

// hasPassword says the form asks for a password: a login form.
func (f *form) hasPassword() bool {
	for _, fl := range f.Fields {
		if fl.Type == "password" {
			return true
		}
	}
	return false
}

// autoSubmits says the form has no control a user could fill or press: such a form
// is only ever submitted by script (the OAuth 2.0 Form Post Response Mode's page).
func (f *form) autoSubmits() bool {
	if len(f.Buttons) > 0 {
		return false
	}
	for _, fl := range f.Fields {
		if fl.Type != "hidden" {
			return false
		}
	}
	return true
}

// negative says a button declines (cancel, deny, reject): the user agent never presses it.
func negative(b field) bool {
	s := strings.ToLower(b.Name + " " + b.Value + " " + b.Text)
	for _, w := range []string{"cancel", "deny", "reject", "abort", "decline", "no,", "no ", "stay signed in", "back"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return strings.TrimSpace(strings.ToLower(b.Text)) == "no"
}

// primaryButton is the submit button a user accepting the page would press.
func (f *form) primaryButton() (field, bool) {
	for _, b := range f.Buttons {
		if !negative(b) {
			return b, true
		}
	}
	return field{}, false
}

// values builds the form data set as a browser would submit it, pressing button b.
func (f *form) values(b *field) url.Values {
	v := url.Values{}
	for _, fl := range f.Fields {
		switch fl.Type {
		case "checkbox", "radio":
			if fl.Checked {
				val := fl.Value
				if val == "" {
					val = "on"
				}
				v.Add(fl.Name, val)
			}
		case "file", "reset":
		default:
			v.Add(fl.Name, fl.Value)
		}
	}
	if b != nil && b.Name != "" {
		v.Add(b.Name, b.Value)
	}
	return v
}

// fillLogin sets the user name and password: the password field, and the first
// visible text, email or tel field before it (or named like a login).
func (f *form) fillLogin(username, password string) {
	userIdx := -1
	for i, fl := range f.Fields {
		switch fl.Type {
		case "text", "email", "tel":
			if userIdx < 0 || (looksLikeLogin(fl.Name) && !looksLikeLogin(f.Fields[userIdx].Name)) {
				userIdx = i
			}
		case "password":
			f.Fields[i].Value = password
		}
	}
	if userIdx >= 0 {
		f.Fields[userIdx].Value = username
	}
}

func looksLikeLogin(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "user") || strings.Contains(n, "login") || strings.Contains(n, "email") || strings.Contains(n, "identifier")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return true
		}
	}
	return false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		for k := c.FirstChild; k != nil; k = k.NextSibling {
			walk(k)
		}
	}
	walk(n)
	return b.String()
}
