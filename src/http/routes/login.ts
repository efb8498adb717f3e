import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { SessionService } from '../../domain/sessions.ts';
import { acceptForms } from '../form.ts';
import { noStore, OAuthErrorBody, RateLimited, TokenResponse } from '../oauth-replies.ts';
import { ErrorDetail, PasswordField, ValidationErrorBody } from '../schemas.ts';

const tags = ['Login'];

const secret = (maxLength: number) => Type.String({ maxLength });

const PasswordChangeRequest = Type.Object(
  { username: Type.String({ maxLength: 320 }), current_password: secret(1024), new_password: PasswordField },
  { title: 'PasswordChangeRequest' },
);

const LogoutRequest = Type.Object({ refresh_token: secret(1024) }, { title: 'LogoutRequest' });

/** CONTRACT.md §4: `/auth/password`, `/auth/logout`. Public routes, rate-limited per client IP. */
export const loginRoutes: FastifyPluginAsyncTypebox<{
  sessions: SessionService;
  rateLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}> = async (app, { sessions, rateLimit }) => {
  acceptForms(app);
  app.addHook('onRequest', rateLimit);

  app.post(
    '/auth/password',
    {
      schema: {
        operationId: 'change_password_auth_password_post',
        summary: 'Change Password',
        description:
          'Sets a new, permanent password from the current (or temporary) one and returns fresh tokens. Every older ' +
          'token of the user stops working.',
        tags,
        body: PasswordChangeRequest,
        response: { 200: TokenResponse, 400: OAuthErrorBody, 422: ValidationErrorBody, 429: RateLimited },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const { username, current_password, new_password } = request.body;
      return sessions.changePassword(username, current_password, new_password, { clientIp: request.ip, userAgent: request.headers['user-agent'] });
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        operationId: 'logout_auth_logout_post',
        summary: 'Log Out',
        description: 'Revokes the refresh token and every token rotated from the same login. Always 200.',
        tags,
        body: LogoutRequest,
        response: { 200: Type.Object({}), 422: ValidationErrorBody, 429: RateLimited, 413: ErrorDetail },
      },
    },
    async (request) => {
      await sessions.logout(request.body.refresh_token);
      return {};
    },
  );
};
