// Package templates embeds Janua's server-rendered pages and parses them once
// at start-up. Every page is rendered inside the one layout (layout.html) and
// receives a Page: the per-request CSP nonce, the CSRF token, the language,
// the brand. An operator may override any file from a directory of their own
// (templates.dir) to theme the pages without forking them.
//
// Files named pages/_<name>.html are partials: named blocks ({{define
// "security_passkeys"}}) any page may call, so each sign-in method keeps its
// own piece of a shared page.
//
// Pages are localised: locales/<lang>.json, plus per-feature parts
// locales/<lang>.<part>.json, are the message catalogues (English and
// Spanish), {{.T "key"}} looks a message up in the page's
// language (English when the catalogue lacks it), and Set.Language picks the
// language from OpenID Connect's ui_locales, else Accept-Language.
//
// Emails are rendered from mail/<kind>.html (html/template) and
// mail/<kind>.txt (text/template) inside mail/layout.html and layout.txt, in
// the pages' colours with inline styles (mail clients drop <style>), every
// word from the catalogues' mail.* keys (locales/<lang>.mail.json): see
// Set.Mail. An operator overrides them as mail/<file> in templates.dir.
//
// This package renders; it holds no logic beyond rendering.
package templates
