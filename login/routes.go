package login

import (
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/web"
)

// Paths of the pages login serves besides Options.LoginPath.
const (
	SignupPath  = "/signup"
	AccountPath = "/account"
	SignOutPath = "/account/signout"
)

// Routes mounts every page login serves, never cached, each behind mw
// (cmd/janua passes the CSRF middleware). Sign-up is mounted only when enabled: otherwise
// /signup is a plain 404.
func (p *Pages) Routes(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	mw = append([]echo.MiddlewareFunc{web.NoStore}, mw...)
	e.GET(p.o.LoginPath, p.showLogin, mw...)
	e.POST(p.o.LoginPath, p.submitLogin, mw...)
	if p.o.Signup {
		e.GET(SignupPath, p.showSignup, mw...)
		e.POST(SignupPath, p.submitSignup, mw...)
	}
	e.GET(FactorPath, p.showFactor, mw...)
	e.POST(FactorPath, p.submitFactor, mw...)
	e.POST(totpPath, p.submitTOTP, mw...)
	e.POST(totpEnrolPath, p.startTOTP(p.signInEnrolment), mw...)
	e.POST(totpConfirmPath, p.confirmTOTP(p.signInEnrolment), mw...)
	e.POST(securityTOTPPath, p.startTOTP(p.securityEnrolment), mw...)
	e.POST(securityTOTPConfirm, p.confirmTOTP(p.securityEnrolment), mw...)
	e.POST(securityTOTPRemovePath, p.removeTOTP, mw...)
	e.POST(backupPath, p.submitBackup, mw...)
	e.POST(securityBackupPath, p.regenerateBackup, mw...)
	e.GET(AccountPath, p.showAccount, mw...)
	e.GET(SecurityPath, p.showSecurity, mw...)
	e.POST(securitySessionsPath, p.securitySessions, mw...)
	e.POST(SignOutPath, p.signOut, mw...)
	if p.passkeysOn() {
		// Passkeys (passkey*.go): each ceremony is two JSON posts from
		// static/assets/passkey.js (options, then the authenticator's
		// answer); renaming and removing are plain forms.
		e.POST(p.passkeyLoginPath()+"/options", p.passkeyLoginOptions, mw...)
		e.POST(p.passkeyLoginPath(), p.passkeyLogin, mw...)
		e.POST(passkeyFactorPath+"/options", p.passkeyFactorOptions, mw...)
		e.POST(passkeyFactorPath, p.passkeyFactor, mw...)
		e.POST(passkeysPath+"/options", p.passkeyRegisterOptions, mw...)
		e.POST(passkeysPath, p.passkeyRegister, mw...)
		e.POST(passkeysPath+"/rename", p.passkeyRename, mw...)
		e.POST(passkeysPath+"/remove", p.passkeyRemove, mw...)
		if p.o.Signup {
			e.GET(PasskeyOfferPath, p.showPasskeyOffer, mw...)
		}
	}
	p.emailRoutes(e, mw)
}

// emailRoutes mounts the mailed sign-in, reset and verification pages and
// the password change (which work without mail: the pages that need it are
// mounted only with it).
func (p *Pages) emailRoutes(e *echo.Echo, mw []echo.MiddlewareFunc) {
	e.GET(PasswordPath, p.showPassword, mw...)
	e.POST(PasswordPath, p.submitPassword, mw...)
	if !p.mailEnabled() {
		return
	}
	if p.emailSignInEnabled() {
		e.POST(EmailSignInPath, p.submitEmailSignIn, mw...)
		e.POST(emailCodePath, p.submitEmailCode, mw...)
		e.GET(EmailLinkPath, p.openEmailLink, mw...)
		e.POST(EmailLinkPath, p.confirmEmailLink, mw...)
	}
	e.GET(ResetPath, p.showReset, mw...)
	e.POST(ResetPath, p.submitReset, mw...)
	e.GET(ResetPasswordPath, p.showResetPassword, mw...)
	e.POST(ResetPasswordPath, p.submitResetPassword, mw...)
	e.GET(VerifyEmailPath, p.verifyEmail, mw...)
	e.POST(verifySendPath, p.resendVerification, mw...)
}
