// Package directory owns the people and groups Janua knows: users and their
// standard OpenID Connect claims today; organizations, members, invitations,
// groups and SCIM 2.0 as they arrive. It holds no credential logic (that is
// login): a caller hands it an already-hashed password.
package directory
