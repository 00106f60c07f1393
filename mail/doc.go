// Package mail sends the messages Janua owes its users: email verification,
// magic links and codes, password resets, new sign-in alerts and notices of
// changes to their second factors.
//
// Callers never talk to a mail server. They put a Message on a Queue inside
// the transaction that creates whatever the message is about (a token row,
// a changed factor), so the two commit or roll back together; a worker
// delivers from the durable outbox with retries and backoff, so sending
// never blocks a request.
//
//	login ──Enqueue(ctx, Message)──▶ mail_outbox (same transaction)
//	                                     │ commit wakes the worker
//	Outbox.Run ──ClaimMail (leased)──────┘
//	    │ templates.Set.Mail: subject, text, HTML in the user's language
//	    ▼
//	Sender: SMTP (STARTTLS or implicit TLS, AUTH PLAIN/LOGIN)
//	        or, in development, the Mailbox at /dev/mailbox
//
// Outcomes: accepted → sent; a 5xx refusal of the sender, recipient or
// message, or a message that cannot be rendered → dead at once; anything
// else → retried after 30 s, 1 m, 2 m, … (at most 1 h, with jitter) until
// Retry.Attempts, then dead. Sent and dead messages lose their data (links,
// codes) at once and their rows after a retention (storage's garbage
// collection). Logs name the kind, a masked recipient, the attempt and the
// error, never a body, link or code, except the development Mailbox's, whose
// purpose is to show them.
package mail
