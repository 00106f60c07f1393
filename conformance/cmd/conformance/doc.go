// Command conformance is the entry point of Janua's OpenID conformance runner
// (package github.com/madfam-org/janua/conformance): "run" executes plans against an
// OP and writes a table per plan plus a JSON report; "plans" lists every plan and
// module as the runner knows them.
package main
