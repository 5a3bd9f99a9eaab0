// Package mail sends Sesame's email (address confirmations, password resets, the admin's test
// message) over SMTP with github.com/wneessen/go-mail.
//
// The settings are read at every send, so that a mail server an admin saves in the settings applies
// at once on every node. How the connection is secured:
//
//   - Secure (SMTP_SECURE=true): implicit TLS, the connection is TLS from its first byte (SMTPS,
//     usually port 465).
//   - not Secure (the default, usually port 587): a plain connection upgraded with STARTTLS. The
//     upgrade is required: a server that does not offer STARTTLS is refused, so that neither the
//     password nor the one-time links in the messages cross the network in clear. The one exception
//     is a server on the loopback address (localhost, 127.0.0.1, ::1), a relay on this machine,
//     where STARTTLS is used when offered.
//
// The server's certificate is always verified (against the system's roots, or Sender.RootCAs);
// there is no setting to skip that. Authentication happens only when a user is set, with the best
// mechanism the server offers over the secured connection.
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	sesame "github.com/sesame-works/sesame"
)

// Settings say where and how mail is sent: SMTP_HOST, SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASS
// and SMTP_FROM.
type Settings struct {
	Host   string
	Port   int
	Secure bool   // implicit TLS; false: STARTTLS (see the package documentation)
	User   string // "" sends without authenticating
	Pass   string
	From   string // the sender, "Sesame <noreply@example.com>" or a bare address
}

// Problem says why mail cannot be sent with s, in words for an admin, or "" when s is complete.
func (s Settings) Problem() string {
	switch {
	case strings.TrimSpace(s.Host) == "":
		return "No mail server is set (SMTP_HOST)."
	case strings.Contains(s.Host, "/") || strings.ContainsAny(s.Host, " \t\r\n"):
		return fmt.Sprintf("SMTP_HOST %q is not a host name.", s.Host)
	case s.Port < 1 || s.Port > 65535:
		return fmt.Sprintf("SMTP_PORT %d is not a port.", s.Port)
	case strings.TrimSpace(s.From) == "":
		return "No sender is set (SMTP_FROM), e.g. Sesame <noreply@example.com>."
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return fmt.Sprintf("SMTP_FROM %q is not an address such as Sesame <noreply@example.com>.", s.From)
	}
	return ""
}

// DefaultTimeout bounds a whole send: half of it for connecting, the TLS handshake and signing in,
// half for the message.
const DefaultTimeout = 20 * time.Second

// Sender sends mail with the settings Settings returns at each send. Its zero value other than
// Settings is ready to use.
type Sender struct {
	// Settings returns the mail settings as they are now (cmd/sesame reads the live settings).
	Settings func() Settings
	// RootCAs are the certificate authorities the server's certificate is checked against; nil: the
	// system's. Only code sets it (a test's own server); no setting reaches it.
	RootCAs *x509.CertPool
	// Timeout bounds each send; 0: DefaultTimeout.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Send sends a plain-text message to one address. The error, when there is one, carries a message
// for an admin (sesame.ErrorMessage): what failed, in words, never the password. It is EINVALID when
// the settings are incomplete or the address is not one, EUNAVAILABLE when the server could not be
// reached or refused.
func (s *Sender) Send(ctx context.Context, to, subject, body string) error {
	set := s.Settings()
	if p := set.Problem(); p != "" {
		return sesame.Errorf(sesame.EINVALID, "Email is not set up: %s", p)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return sesame.Errorf(sesame.EINVALID, "%q is not an email address.", to)
	}
	msg := gomail.NewMsg()
	if err := msg.From(set.From); err != nil {
		return sesame.Errorf(sesame.EINVALID, "SMTP_FROM %q is not an address such as Sesame <noreply@example.com>.", set.From)
	}
	if err := msg.To(rcpt.Address); err != nil {
		return sesame.Errorf(sesame.EINVALID, "%q is not an email address.", to)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	msg.SetBodyString(gomail.TypeTextPlain, body)

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := gomail.NewClient(set.Host, s.options(set, timeout)...)
	if err != nil {
		return sesame.Errorf(sesame.EINVALID, "The mail settings cannot be used: %s", redact(err.Error(), set))
	}
	addr := net.JoinHostPort(set.Host, strconv.Itoa(set.Port))
	if err := client.DialWithContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %s: %w", addr, redact(err.Error(), set), dialProblem(addr, set, err))
	}
	defer client.Close()
	if err := client.Send(msg); err != nil {
		return fmt.Errorf("send through %s: %s: %w", addr, redact(err.Error(), set),
			sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s refused the message: %s", addr, serverWords(err, set)))
	}
	if s.Logger != nil {
		s.Logger.Info("email sent", "server", addr, "subject", subject)
	}
	return nil
}

// options are go-mail's client options for set.
func (s *Sender) options(set Settings, timeout time.Duration) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(set.Port),
		gomail.WithTimeout(timeout / 2), // go-mail's deadline is set once to connect, once more to send
		gomail.WithTLSConfig(&tls.Config{ServerName: set.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch {
	case set.Secure:
		opts = append(opts, gomail.WithSSL())
	case loopback(set.Host):
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if set.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(set.User), gomail.WithPassword(set.Pass))
	}
	return opts
}

// loopback reports whether host is this machine: the only server mail may reach without TLS.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialProblem says in words what failed before the message could be sent: reaching the server, its
// TLS, or signing in to it.
func dialProblem(addr string, set Settings, err error) error {
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		unknown x509.UnknownAuthorityError
		badHost x509.HostnameError
		invalid x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
	)
	text := redact(err.Error(), set)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s did not answer in time. Check SMTP_HOST and SMTP_PORT, that this server may reach it, and SMTP_SECURE (a TLS port, usually 465, needs SMTP_SECURE=true).", addr)
	case errors.As(err, &dnsErr):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server's name %s cannot be resolved. Check SMTP_HOST.", set.Host)
	case errors.As(err, &unknown) || errors.As(err, &badHost) || errors.As(err, &invalid):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The TLS certificate of the mail server %s is not trusted: %s", addr, text)
	case errors.As(err, &recErr):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s does not speak TLS on this port. With SMTP_SECURE=true use its TLS port (usually 465); for STARTTLS (usually port 587) set SMTP_SECURE=false.", addr)
	case strings.Contains(text, "does not support STARTTLS"):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s does not offer STARTTLS, and Sesame sends mail only encrypted (except to a server on this machine). Use its TLS port with SMTP_SECURE=true, or a server that offers STARTTLS.", addr)
	case strings.Contains(text, "server does not support SMTP AUTH") || strings.Contains(text, "not supported by server") || errors.Is(err, gomail.ErrNoSupportedAuthDiscovered):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s offers no way to sign in that Sesame can use over this connection. Check SMTP_USER, or leave it empty for a server that needs no sign-in.", addr)
	case errors.As(err, &opErr):
		return sesame.Errorf(sesame.EUNAVAILABLE, "Sesame could not connect to the mail server %s: %s", addr, text)
	case authFailure(text):
		return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s refused the user name or password (SMTP_USER, SMTP_PASS): %s", addr, text)
	}
	return sesame.Errorf(sesame.EUNAVAILABLE, "The mail server %s could not be used: %s", addr, text)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// authReply is a server's refusal of credentials: a 535, 534 or 530 reply, or go-mail's words for
// a failed AUTH exchange.
var authReply = regexp.MustCompile(`(?i)(^|[\s"(])5(35|34|30)[\s-]|SMTP AUTH failed|authentication failed`)

// authFailure reports whether text is a server's refusal of credentials.
func authFailure(text string) bool { return authReply.MatchString(text) }

// serverWords is what the server said when refusing a message, without the password.
func serverWords(err error, set Settings) string {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrSMTPMailFrom:
			return "it does not accept the sender " + set.From + " (SMTP_FROM): " + redact(err.Error(), set)
		case gomail.ErrSMTPRcptTo:
			return "it does not accept the recipient: " + redact(err.Error(), set)
		}
	}
	return redact(err.Error(), set)
}

// redact removes the password from text, should a server or library ever repeat it.
func redact(text string, set Settings) string {
	if len(set.Pass) >= 3 {
		text = strings.ReplaceAll(text, set.Pass, "[password]")
	}
	return text
}
