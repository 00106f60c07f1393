package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// discoveryStep: the discovery document, with the right issuer.
func discoveryStep(_ context.Context, e *env, _ int) (step, error) {
	url := discoveryURL(e.opts.issuer)
	var verified []byte
	return func(ctx context.Context) (int, error) {
		res, body, err := e.get(ctx, url, "")
		if err != nil {
			return 1, err
		}
		// A document byte for byte the same as one checked before needs no
		// second decoding (the status and type are still checked): the
		// load generator shares the CPU with the server it measures.
		if err := wantStatus(res, body, http.StatusOK); err == nil && bytes.Equal(body, verified) && isJSON(res) {
			return 1, nil
		}
		var d discovery
		if err := wantJSON(res, body, http.StatusOK, &d); err != nil {
			return 1, err
		}
		if d.Issuer != e.opts.issuer || d.TokenEndpoint == "" {
			return 1, fmt.Errorf("discovery: issuer %q, token_endpoint %q", d.Issuer, d.TokenEndpoint)
		}
		verified = body
		return 1, nil
	}, nil
}

// jwksStep: the JWK Set, with at least one usable public key.
func jwksStep(_ context.Context, e *env, _ int) (step, error) {
	var verified []byte
	return func(ctx context.Context) (int, error) {
		res, body, err := e.get(ctx, e.disc.JWKSURI, "")
		if err != nil {
			return 1, err
		}
		if err := wantStatus(res, body, http.StatusOK); err == nil && bytes.Equal(body, verified) && isJSON(res) {
			return 1, nil
		}
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
				Kty string `json:"kty"`
				D   string `json:"d"`
			} `json:"keys"`
		}
		if err := wantJSON(res, body, http.StatusOK, &set); err != nil {
			return 1, err
		}
		if len(set.Keys) == 0 {
			return 1, fmt.Errorf("jwks: no keys")
		}
		for _, k := range set.Keys {
			if k.Kid == "" || k.Kty == "" || k.D != "" {
				return 1, fmt.Errorf("jwks: key %q: kid and kty required, private parts forbidden", k.Kid)
			}
		}
		verified = body
		return 1, nil
	}, nil
}
