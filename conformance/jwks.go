package conformance

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// fetchJWKS is FetchServerKeys + ValidateServerJWKs (RFC 7517 §5): the jwks_uri answers
// 200 with a JSON Web Key Set every key of which parses.
func (t *T) fetchJWKS() {
	var raw []byte
	t.stop("FetchServerKeys", []string{"OIDCD-3"}, func() error {
		uri := t.endpoint("jwks_uri")
		if uri == "" {
			return errors.New("jwks_uri missing from the discovery document")
		}
		resp, body, err := t.run.get(t.ctx, uri, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("jwks_uri returned HTTP %d", resp.StatusCode)
		}
		raw = body
		return nil
	})
	var set jose.JSONWebKeySet
	var members struct {
		Keys []map[string]any `json:"keys"`
	}
	t.stop("ValidateServerJWKs", []string{"RFC7517-1.1"}, func() error { return validateJWKS(raw, &set, &members.Keys) })
	t.jwks = &set
	t.call("CheckServerKeysIsValid", Warn, nil, func() error { return checkKeysUsable(&set) })
	t.call("CheckForKeyIdInServerJWKs", Failure, []string{"OIDCC-10.1"}, func() error { return checkKids(members.Keys) })
	t.call("CheckDistinctKeyIdValueInServerJWKs", Failure, []string{"RFC7517-4.5"}, func() error { return checkDistinctKids(members.Keys) })
	t.call("EnsureServerJwksDoesNotContainPrivateOrSymmetricKeys", Failure, []string{"RFC7518-6.3.2.1"}, func() error {
		return checkPublicOnly(&set, members.Keys)
	})
}

func validateJWKS(raw []byte, set *jose.JSONWebKeySet, members *[]map[string]any) error {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("JWKS is not a JSON object with a keys array: %w", err)
	}
	if len(doc.Keys) == 0 {
		return errors.New("JWKS has no keys")
	}
	for i, k := range doc.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(k); err != nil {
			return fmt.Errorf("key %d is not a valid JWK: %w", i, err)
		}
		var m map[string]any
		_ = json.Unmarshal(k, &m)
		*members = append(*members, m)
		set.Keys = append(set.Keys, key)
	}
	return nil
}

func checkKids(keys []map[string]any) error {
	for i, k := range keys {
		if s, _ := k["kid"].(string); s == "" {
			return fmt.Errorf("key %d of the server JWKS has no kid", i)
		}
	}
	return nil
}

func checkDistinctKids(keys []map[string]any) error {
	seen := map[string]bool{}
	for _, k := range keys {
		s, _ := k["kid"].(string)
		if s == "" {
			continue
		}
		use, _ := k["use"].(string)
		id := s + "|" + use
		if seen[id] {
			return fmt.Errorf("kid %q appears more than once in the server JWKS", s)
		}
		seen[id] = true
	}
	return nil
}

func checkPublicOnly(set *jose.JSONWebKeySet, members []map[string]any) error {
	for i, k := range set.Keys {
		if !k.IsPublic() {
			return fmt.Errorf("key %q contains private key material", k.KeyID)
		}
		if kty, _ := members[i]["kty"].(string); kty == "oct" {
			return fmt.Errorf("key %q is a symmetric key", k.KeyID)
		}
	}
	return nil
}

// checkKeysUsable: RSA keys of at least 2048 bits (RFC 7518 §3.3), known key types.
func checkKeysUsable(set *jose.JSONWebKeySet) error {
	for _, k := range set.Keys {
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return fmt.Errorf("RSA key %q is %d bits, less than 2048", k.KeyID, pk.N.BitLen())
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return fmt.Errorf("key %q has an unexpected type %T", k.KeyID, k.Key)
		}
	}
	return nil
}
