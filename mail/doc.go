// Package mail sends the messages Janua owes its users: email verification,
// magic links and codes, password resets, new sign-in alerts and notices of
// changes to their second factors.
//
// Callers never talk to a mail server. They put a Message on a Queue inside
// the transaction that creates whatever the message is about (a token row,
// a changed factor), so the two commit or roll back together; a worker
// delivers from the durable outbox with retries and backoff, so sending
// never blocks a request.
package mail
