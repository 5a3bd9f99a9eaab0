package main

import (
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/mail"
	"github.com/sesame-works/sesame/postgres"
)

// mailSettings are the SMTP settings in c.
func mailSettings(c *config.Config) mail.Settings {
	return mail.Settings{
		Host:   c.String(config.SMTPHost),
		Port:   c.Int(config.SMTPPort),
		Secure: c.Bool(config.SMTPSecure),
		User:   c.String(config.SMTPUser),
		Pass:   c.String(config.SMTPPass),
		From:   c.String(config.SMTPFrom),
	}
}

// mailer sends the web app's email with the settings as they are at each send, admin-saved values
// included: a mail server saved on /admin/settings applies at once, on every node.
func (m *Main) mailer() *mail.Sender {
	return &mail.Sender{Settings: func() mail.Settings { return mailSettings(m.Live.Current()) }, Logger: m.Logger}
}

// emailOptions are the web app's parts for email: the sender and the single-use links it mails.
func (m *Main) emailOptions() (*mail.Sender, *postgres.EmailTokens) {
	return m.mailer(), postgres.NewEmailTokens(m.DB)
}
