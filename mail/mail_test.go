package mail_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/smtptest"
	"github.com/sesame-works/sesame/mail"
)

const (
	user = "sesame@example.com"
	pass = "s3cret-app-password"
)

// sender sends to srv with the settings s (Host and Port filled in from srv), trusting srv's CA.
func sender(srv *smtptest.Server, s mail.Settings) *mail.Sender {
	s.Host, s.Port = srv.Host, srv.Port
	if s.From == "" {
		s.From = "Sesame <noreply@example.com>"
	}
	return &mail.Sender{Settings: func() mail.Settings { return s }, RootCAs: srv.CA, Timeout: 5 * time.Second}
}

func TestSendSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{User: user, Pass: pass})
	s := sender(srv, mail.Settings{User: user, Pass: pass})
	body := "Hello Ada,\n\nOpen this link: https://sesame.test/verify?token=" + strings.Repeat("x", 43) + "\n"
	if err := s.Send(context.Background(), "Ada <ada@example.com>", "Confirm your email — Sesame", body); err != nil {
		t.Fatalf("send: %v (%s)", err, sesame.ErrorMessage(err))
	}
	m := srv.WaitFor(t, 1, time.Second)
	if !m.TLS || m.User != user {
		t.Errorf("message came with TLS %v, user %q; want TLS and %q", m.TLS, m.User, user)
	}
	if m.From != "noreply@example.com" || len(m.To) != 1 || m.To[0] != "ada@example.com" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if m.Subject != "Confirm your email — Sesame" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.Text != body {
		t.Errorf("body %q, want %q", m.Text, body)
	}
	if got := m.Header.Get("From"); !strings.Contains(got, "Sesame") || !strings.Contains(got, "noreply@example.com") {
		t.Errorf("From header %q", got)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" || m.Header.Get("Message-Id") == "" || m.Header.Get("Date") == "" {
		t.Errorf("headers: %v", m.Header)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{User: user, Pass: pass, ImplicitTLS: true})
	if err := sender(srv, mail.Settings{Secure: true, User: user, Pass: pass}).Send(context.Background(), "ada@example.com", "Hi", "Hi\n"); err != nil {
		t.Fatalf("send: %v", err)
	}
	if m := srv.WaitFor(t, 1, time.Second); !m.TLS || m.User != user {
		t.Errorf("TLS %v, user %q", m.TLS, m.User)
	}
}

// TestSendErrors: each way a send fails is said in words an admin can act on, and never with the
// password.
func TestSendErrors(t *testing.T) {
	starttls := smtptest.NewServer(t, smtptest.Options{User: user, Pass: pass})
	implicit := smtptest.NewServer(t, smtptest.Options{ImplicitTLS: true})
	silent := silentServer(t)
	closed := closedPort(t)
	tests := []struct {
		name     string
		sender   *mail.Sender
		code     string
		contains string
	}{
		{name: "wrong password", sender: sender(starttls, mail.Settings{User: user, Pass: "wrong-password-123"}),
			code: sesame.EUNAVAILABLE, contains: "refused the user name or password"},
		{name: "untrusted certificate", sender: func() *mail.Sender {
			s := sender(starttls, mail.Settings{User: user, Pass: pass})
			s.RootCAs = nil // the system's roots do not know the test server's certificate
			return s
		}(), code: sesame.EUNAVAILABLE, contains: "is not trusted"},
		{name: "implicit TLS against a STARTTLS port", sender: sender(starttls, mail.Settings{Secure: true}),
			code: sesame.EUNAVAILABLE, contains: "does not speak TLS on this port"},
		{name: "STARTTLS against an implicit TLS port", sender: func() *mail.Sender {
			s := sender(implicit, mail.Settings{})
			s.Timeout = 2 * time.Second
			return s
		}(), code: sesame.EUNAVAILABLE, contains: "did not answer in time"},
		{name: "server that never answers", sender: &mail.Sender{Timeout: time.Second, Settings: func() mail.Settings {
			return mail.Settings{Host: "127.0.0.1", Port: silent, From: "noreply@example.com"}
		}}, code: sesame.EUNAVAILABLE, contains: "did not answer in time"},
		{name: "nothing listening", sender: &mail.Sender{Settings: func() mail.Settings {
			return mail.Settings{Host: "127.0.0.1", Port: closed, From: "noreply@example.com"}
		}}, code: sesame.EUNAVAILABLE, contains: "could not connect"},
		{name: "no host", sender: &mail.Sender{Settings: func() mail.Settings { return mail.Settings{Port: 587, From: "a@example.com"} }},
			code: sesame.EINVALID, contains: "SMTP_HOST"},
		{name: "no sender", sender: &mail.Sender{Settings: func() mail.Settings { return mail.Settings{Host: "smtp.example.com", Port: 587} }},
			code: sesame.EINVALID, contains: "SMTP_FROM"},
		{name: "bad sender", sender: sender(starttls, mail.Settings{From: "not an address", User: user, Pass: pass}),
			code: sesame.EINVALID, contains: "SMTP_FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := tt.sender.Send(context.Background(), "ada@example.com", "Test", "Test\n")
			if err == nil {
				t.Fatal("sent; want an error")
			}
			msg := sesame.ErrorMessage(err)
			if sesame.ErrorCode(err) != tt.code || !strings.Contains(msg, tt.contains) {
				t.Errorf("error %s %q (%v); want %s containing %q", sesame.ErrorCode(err), msg, err, tt.code, tt.contains)
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(msg, pass) || strings.Contains(err.Error(), "wrong-password-123") {
				t.Errorf("the error shows the password: %v", err)
			}
			t.Logf("%s", msg)
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	if n := len(starttls.Messages()); n != 0 {
		t.Errorf("%d messages arrived", n)
	}
}

// TestSendRequiresTLSOffLoopback: to a server that is not on this machine, mail without TLS is
// refused rather than sent in clear; on the loopback address it goes.
func TestSendRequiresTLSOffLoopback(t *testing.T) {
	ip := outsideIP(t)
	plain := smtptest.NewServer(t, smtptest.Options{NoTLS: true, Listen: net.JoinHostPort(ip, "0")})
	s := &mail.Sender{Timeout: 5 * time.Second, Settings: func() mail.Settings {
		return mail.Settings{Host: ip, Port: plain.Port, From: "noreply@example.com"}
	}}
	err := s.Send(context.Background(), "ada@example.com", "Test", "Test\n")
	if !strings.Contains(sesame.ErrorMessage(err), "does not offer STARTTLS") {
		t.Fatalf("error %v (%q); want a refusal for the missing STARTTLS", err, sesame.ErrorMessage(err))
	}
	local := smtptest.NewServer(t, smtptest.Options{NoTLS: true})
	if err := sender(local, mail.Settings{}).Send(context.Background(), "ada@example.com", "Test", "Test\n"); err != nil {
		t.Fatalf("send to a relay on this machine: %v", err)
	}
	if m := local.WaitFor(t, 1, time.Second); m.TLS {
		t.Error("came over TLS from a server that offers none")
	}
	if n := len(plain.Messages()); n != 0 {
		t.Errorf("%d messages went in clear", n)
	}
}

// TestSendReadsSettingsEachTime: a change of settings applies at the next send, without a new Sender.
func TestSendReadsSettingsEachTime(t *testing.T) {
	first := smtptest.NewServer(t, smtptest.Options{})
	second := smtptest.NewServer(t, smtptest.Options{User: user, Pass: pass})
	var cur atomic.Pointer[mail.Settings]
	cur.Store(&mail.Settings{Host: first.Host, Port: first.Port, From: "one@example.com"})
	s := &mail.Sender{Settings: func() mail.Settings { return *cur.Load() }, RootCAs: first.CA}
	if err := s.Send(context.Background(), "ada@example.com", "One", "1\n"); err != nil {
		t.Fatal(err)
	}
	cur.Store(&mail.Settings{Host: second.Host, Port: second.Port, User: user, Pass: pass, From: "two@example.com"})
	s.RootCAs = second.CA
	if err := s.Send(context.Background(), "ada@example.com", "Two", "2\n"); err != nil {
		t.Fatal(err)
	}
	if m := first.WaitFor(t, 1, time.Second); m.From != "one@example.com" {
		t.Errorf("first server got from %q", m.From)
	}
	if m := second.WaitFor(t, 1, time.Second); m.From != "two@example.com" || m.User != user {
		t.Errorf("second server got from %q as %q", m.From, m.User)
	}
}

func TestSettingsProblem(t *testing.T) {
	tests := []struct {
		name string
		s    mail.Settings
		want string // part of the problem, "" for none
	}{
		{name: "complete", s: mail.Settings{Host: "smtp.example.com", Port: 587, From: "Sesame <noreply@example.com>"}},
		{name: "bare address", s: mail.Settings{Host: "smtp.example.com", Port: 465, From: "noreply@example.com"}},
		{name: "no host", s: mail.Settings{Port: 587, From: "noreply@example.com"}, want: "SMTP_HOST"},
		{name: "socket path", s: mail.Settings{Host: "unix:///run/smtp.sock", Port: 587, From: "noreply@example.com"}, want: "not a host name"},
		{name: "no port", s: mail.Settings{Host: "smtp.example.com", From: "noreply@example.com"}, want: "SMTP_PORT"},
		{name: "no sender", s: mail.Settings{Host: "smtp.example.com", Port: 587}, want: "SMTP_FROM"},
		{name: "bad sender", s: mail.Settings{Host: "smtp.example.com", Port: 587, From: "Sesame"}, want: "SMTP_FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Problem()
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("Problem() = %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// silentServer accepts connections and never says anything; it returns its port.
func silentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort is a port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// outsideIP is an IPv4 address of this machine that is not a loopback address.
func outsideIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("this machine has no IPv4 address besides the loopback one; the test needs one to stand for a remote server")
	return ""
}
