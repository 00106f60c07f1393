package oracle

import (
	"context"
	"crypto/x509"

	"github.com/madfam-org/janua/conformance"
)

// Setup is what an oracle needs from the run.
type Setup struct {
	Config    *conformance.Config
	Roots     *x509.CertPool
	Authority *conformance.Authority
	CAFile    string
	NodeDir   string
	Report    *conformance.Report
}

// Run runs the named oracle.
func Run(ctx context.Context, name string, s Setup) conformance.OracleRun {
	return conformance.OracleRun{Name: name, Problems: []string{"not implemented"}}
}
