import { html, type Html } from './html.ts';

/** Where the pages find their stylesheet and icon, relative to the issuer's path. */
export const STYLESHEET_PATH = '/resources/gatehouse.css';
export const FAVICON_PATH = '/resources/favicon.svg';
export const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2754c5"/>' +
  '<path d="M9 27V13l7-6 7 6v14h-5v-7h-4v7z" fill="#fff"/></svg>';

interface PageOptions {
  base: string;
  title: string;
  /** The application the user is signing in to, shown under the heading. */
  appName?: string | null;
}

function page(opts: PageOptions, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${opts.title} · Gatehouse</title>
<link rel="icon" href="${opts.base}${FAVICON_PATH}" type="image/svg+xml">
<link rel="stylesheet" href="${opts.base}${STYLESHEET_PATH}">
</head>
<body>
<main class="card">
<p class="brand" aria-hidden="true">Gatehouse</p>
<h1>${opts.title}</h1>
${opts.appName ? html`<p class="app">to continue to <strong>${opts.appName}</strong></p>` : ''}
${body}
</main>
</body>
</html>
`.value;
}

const alert = (message: string | undefined) => (message ? html`<p class="error" role="alert">${message}</p>` : '');

export function loginPage(o: { base: string; appName: string; action: string; interaction: string; username?: string; error?: string }): string {
  return page(
    { base: o.base, title: 'Sign in', appName: o.appName },
    html`${alert(o.error)}
<form method="post" action="${o.action}">
<input type="hidden" name="interaction" value="${o.interaction}">
<label for="username">Email</label>
<input id="username" name="username" type="email" autocomplete="username" required ${o.username ? '' : html`autofocus `}maxlength="320" value="${o.username ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required ${o.username ? html`autofocus ` : ''}maxlength="1024">
<button type="submit">Sign in</button>
</form>`,
  );
}

export function updatePasswordPage(o: { base: string; appName: string; action: string; interaction: string; username: string; error?: string }): string {
  return page(
    { base: o.base, title: 'Choose a new password', appName: o.appName },
    html`<p>Your password was set by an administrator and is temporary. Choose your own to continue.</p>
${alert(o.error)}
<form method="post" action="${o.action}">
<input type="hidden" name="interaction" value="${o.interaction}">
<input type="text" name="username" autocomplete="username" value="${o.username}" readonly hidden>
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required autofocus minlength="12" maxlength="256" aria-describedby="policy">
<p id="policy" class="hint">At least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol. Common passwords are refused.</p>
<label for="confirm">Repeat the new password</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" maxlength="256">
<button type="submit">Set password and continue</button>
</form>`,
  );
}

export function messagePage(o: { base: string; title: string; message: string; link?: { href: string; text: string } }): string {
  return page({ base: o.base, title: o.title }, html`<p role="${o.title === 'Signed out' ? 'status' : 'alert'}">${o.message}</p>
${o.link ? html`<p><a href="${o.link.href}">${o.link.text}</a></p>` : ''}`);
}

export function confirmLogoutPage(o: { base: string; action: string; csrf: string; hidden: Record<string, string> }): string {
  const fields = Object.entries(o.hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return page(
    { base: o.base, title: 'Sign out?' },
    html`<p>Do you want to sign out of every application you signed in to with this browser?</p>
<form method="post" action="${o.action}">
<input type="hidden" name="csrf" value="${o.csrf}">
${fields}
<input type="hidden" name="confirm" value="yes">
<button type="submit">Sign out</button>
</form>`,
  );
}

export const STYLESHEET = `:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1c1e21;--muted:#5b6270;--line:#c9ced6;--accent:#2754c5;--accent-text:#fff;--error-bg:#fdecec;--error:#a4161a;--focus:#2754c5}
@media (prefers-color-scheme:dark){:root{--bg:#14161a;--card:#1e2127;--text:#e8eaed;--muted:#a9b0bb;--line:#3b414b;--accent:#7da2ff;--accent-text:#0b1020;--error-bg:#3a1d1f;--error:#ffb3b3;--focus:#9db8ff}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;padding:1rem}
.card{width:100%;max-width:24rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:2rem;box-shadow:0 2px 12px rgb(0 0 0 / .06)}
.brand{margin:0 0 .5rem;font-weight:700;letter-spacing:.04em;text-transform:uppercase;font-size:.8rem;color:var(--accent)}
h1{margin:0 0 .25rem;font-size:1.5rem}
.app{margin:0 0 1.25rem;color:var(--muted)}
form{display:flex;flex-direction:column;gap:.35rem;margin-top:1rem}
label{font-weight:600;margin-top:.5rem}
input[type=email],input[type=password],input[type=text]{font:inherit;padding:.6rem .7rem;border:1px solid var(--line);border-radius:8px;background:transparent;color:inherit}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
button{margin-top:1.25rem;font:inherit;font-weight:600;padding:.7rem;border:0;border-radius:8px;background:var(--accent);color:var(--accent-text);cursor:pointer}
button:hover{filter:brightness(1.08)}
.hint{margin:.15rem 0 0;font-size:.875rem;color:var(--muted)}
.error{background:var(--error-bg);color:var(--error);padding:.6rem .75rem;border-radius:8px;margin:.75rem 0 0}
a{color:var(--accent)}
`;
