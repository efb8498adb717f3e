import { PASSWORD_RULES } from '../pages/user-password.ts';

/** The password policy beside the field, each rule ticked off as the operator types. */
export function PasswordRules({ id, password }: { id: string; password: string }) {
  return (
    <div class="password-rules" id={id}>
      <p class="hint">A password needs:</p>
      <ul>
        {PASSWORD_RULES.map((rule) => {
          const met = password === '' ? false : rule.met(password);
          const state = met === undefined ? 'server' : met ? 'met' : 'unmet';
          return (
            <li key={rule.id} class={state} data-rule={rule.id}>
              <span aria-hidden="true">{state === 'met' ? '✓' : state === 'unmet' ? '✗' : '•'}</span> {rule.text}
              <span class="visually-hidden">{state === 'met' ? ' (met)' : state === 'unmet' ? ' (not met)' : ''}</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
