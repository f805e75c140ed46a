// People sign in with email, password and (with two-factor) a code; a one-time link sets a password;
// an Administrator enrols an authenticator app. API keys remain for automation (the last form).
import { apiJson, ApiError, session } from './api.js';
import { errorBox, field, fmtDate, h } from './dom.js';

const PASSWORD_HINT = 'At least 12 characters; a few words with spaces make a good one. Not a common password, and not your name or email.';

/** The sign-in page. `ui.signedIn(where)` loads the caller and goes on. */
export async function signInView(ui, { ssoFailed = false } = {}) {
  const email = h('input', { id: 'signin-email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'signin-password', type: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { id: 'signin-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8, 'aria-describedby': 'signin-code-hint' });
  const codeField = h('div', { hidden: true }, ...field('signin-code', 'Two-factor code', code, 'The 6-digit code your authenticator app shows now.'));
  const err = errorBox('signin-error');
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      try {
        session.key = null;
        const doc = await apiJson('POST', '/v1/auth/signIn', { json: { email: email.value, password: password.value, ...(code.value ? { code: code.value } : {}) } });
        password.value = '';
        await ui.signedIn(doc.data.attributes.twoFactorEnrolmentRequired ? '#/enrol' : '#/home');
      } catch (error) {
        if (error instanceof ApiError && error.code === 'CODE_REQUIRED') {
          codeField.hidden = false;
          err.textContent = error.message;
          code.focus();
          return;
        }
        err.textContent = error instanceof ApiError ? error.message : 'Could not reach the service.';
      }
    },
  }, ...field('signin-email', 'Email', email), ...field('signin-password', 'Password', password), codeField, err,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));

  let sso = null;
  try {
    const doc = await apiJson('GET', '/v1/auth/oidc');
    if (doc.data.attributes.enabled) sso = h('div', { class: 'actions' }, h('a', { class: 'button', href: '/v1/auth/oidc/start', id: 'sso' }, `Sign in with ${doc.data.attributes.displayName}`));
  } catch { /* no single sign-on */ }

  const keyInput = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'api-key-hint' });
  const keyErr = errorBox('api-key-error');
  const keyForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      session.key = keyInput.value.trim();
      try {
        await ui.signedIn('#/services');
      } catch (error) {
        session.key = null;
        keyErr.textContent = error instanceof ApiError ? error.message : 'Could not reach the service.';
      }
    },
  }, ...field('api-key', 'API key', keyInput, 'For automation accounts: the key printed by npm start or given to you by an administrator. It stays in this tab only.'), keyErr,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Sign in with API key')));

  ui.page('Sign in',
    ssoFailed ? h('p', { class: 'error', role: 'alert' }, 'Single sign-on did not sign you in: your provider gave no verified email that belongs to exactly one person here. Ask an Administrator.') : null,
    form, sso,
    h('div', { class: 'divider' }), h('h2', {}, 'API key'), keyForm);
}

/** A one-time link (invitation or reset): choose a password. */
export async function linkView(ui, secret) {
  let link;
  try {
    link = (await apiJson('POST', '/v1/auth/links/inspect', { json: { secret } })).data.attributes;
  } catch (error) {
    ui.page('This link does not work', h('p', { class: 'error', role: 'alert', id: 'link-error' }, error.message), h('p', {}, h('a', { href: '#/signin' }, 'Go to sign in')));
    return;
  }
  const password = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': 'new-password-hint link-error' });
  const again = h('input', { id: 'new-password-again', type: 'password', autocomplete: 'new-password', required: true });
  const err = errorBox('link-error');
  const invitation = link.purpose === 'INVITATION';
  ui.page(invitation ? 'Welcome — set your password' : 'Set a new password',
    h('p', {}, `${link.name} (${link.email}). This link works once, until ${fmtDate(link.expiresDateTime)}.`),
    link.twoFactorRequired && !link.twoFactorEnabled ? h('p', { class: 'hint' }, 'Your role requires two-factor authentication: next you set up an authenticator app.') : null,
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        if (password.value !== again.value) { err.textContent = 'The two passwords differ.'; again.focus(); return; }
        try {
          session.key = null;
          const doc = await apiJson('POST', '/v1/auth/links/use', { json: { secret, password: password.value } });
          const a = doc.data.attributes;
          if (a.signInRequired) { ui.flash('Password set. Sign in with it and your two-factor code.'); location.hash = '#/signin'; return; }
          await ui.signedIn(a.twoFactorEnrolmentRequired ? '#/enrol' : '#/home');
        } catch (error) {
          err.textContent = error.message;
          password.focus();
        }
      },
    }, ...field('new-password', 'New password', password, PASSWORD_HINT), ...field('new-password-again', 'New password again', again), err,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Set password'))));
}

/** Two-factor set-up: the seed is shown only here, during set-up, and confirmed by a first code. */
export async function enrolView(ui) {
  const doc = await apiJson('POST', '/v1/me/twoFactor/enrolment');
  const { secret, otpauthUri, qrCode } = doc.data.attributes;
  const code = h('input', { id: 'enrol-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8, required: true });
  const err = errorBox('enrol-error');
  ui.page('Set up two-factor authentication',
    h('p', {}, 'Scan this QR code with your authenticator app (e.g. Passwords, Google Authenticator, 1Password), type in the setup key below, or open the link on the device that has the app.'),
    qrCode ? h('img', { src: qrCode, id: 'totp-qr', width: 240, height: 240, alt: 'QR code of your two-factor setup key (the same key is written below)' }) : null,
    h('p', {}, 'Setup key: ', h('span', { class: 'secret', id: 'totp-secret' }, secret.replace(/(.{4})/g, '$1 ').trim())),
    h('p', {}, h('a', { href: otpauthUri }, 'Open in authenticator app')),
    h('p', { class: 'hint' }, 'The key is shown only now; once set up, no page shows it again.'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          await apiJson('POST', '/v1/me/twoFactor', { json: { code: code.value } });
          ui.flash('Two-factor authentication is on. You need a code each time you sign in.');
          await ui.signedIn('#/home');
        } catch (error) {
          err.textContent = error.message;
          code.focus();
        }
      },
    }, ...field('enrol-code', 'Code from your authenticator app', code), err, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Turn on two-factor'))));
}

/**
 * The second factor after single sign-on: the provider did not say it checked one, and the role
 * requires it, so the person enters their authenticator code before anything else.
 */
export async function verifyView(ui) {
  const code = h('input', { id: 'verify-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8, required: true, 'aria-describedby': 'verify-code-hint verify-error' });
  const err = errorBox('verify-error');
  ui.page('Enter your two-factor code',
    h('p', {}, 'Your role requires two-factor authentication, and your single sign-on did not include a second factor.'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          await apiJson('POST', '/v1/me/twoFactor/verification', { json: { code: code.value } });
          await ui.signedIn('#/home');
        } catch (error) {
          err.textContent = error.message;
          code.focus();
        }
      },
    }, ...field('verify-code', 'Code from your authenticator app', code, 'The 6-digit code your authenticator app shows now.'), err,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Verify'))));
}
