import { z } from 'zod';
import { idSchema, tenantSchema, timestampSchema } from './common.js';

/** Shortest password an account may be given (UTF-16 code units, as JavaScript counts). */
export const PASSWORD_MIN_LENGTH = 12;

/**
 * Longest password accepted. The key derivation's cost does not grow with the length, but a
 * bound keeps every request small and its work predictable.
 */
export const PASSWORD_MAX_LENGTH = 1024;

/**
 * What a person may do. `owner`: every tenant, and user management; `tenant_admin`: read and
 * change one tenant, and manage its users; `auditor`: read one tenant, change nothing.
 */
export const accountRoleSchema = z.enum(['owner', 'tenant_admin', 'auditor']);

/** A role of a person (docs/accounts.md). */
export type AccountRole = z.infer<typeof accountRoleSchema>;

/** An e-mail address, the login name of a person; compared without regard to case. */
export const emailSchema = z.email().max(254);

/** A password being set: at least {@link PASSWORD_MIN_LENGTH} characters. */
export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH);

// A password being checked: any length up to the bound, so an old short one still gets the
// generic answer rather than a hint about the policy.
const passwordSchema = z.string().min(1).max(PASSWORD_MAX_LENGTH);

/**
 * One role a person holds: `owner` (every tenant, so no tenant), or `tenant_admin`/`auditor`
 * of one tenant.
 */
export const roleGrantSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('owner') }),
  z.strictObject({ role: z.enum(['tenant_admin', 'auditor']), tenant: tenantSchema }),
]);

/** One role a person holds. */
export type RoleGrant = z.infer<typeof roleGrantSchema>;

/** A person's account as the API shows it (never the password hash). */
export const userSchema = z.strictObject({
  id: idSchema,
  email: z.string(),
  disabled: z.boolean(),
  createdAt: timestampSchema,
  /** Every role, or for a tenant admin asking, only the roles in their tenant. */
  roles: z.array(roleGrantSchema),
});

/** A person's account. */
export type User = z.infer<typeof userSchema>;

/** `POST /v1/auth/login` body. */
export const loginRequestSchema = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  /**
   * The tenant to act in, for a person with roles in several; default: the first by name.
   * An owner acts in every tenant and may leave it out.
   */
  tenant: tenantSchema.optional(),
});

/** `POST /v1/auth/login` body. */
export type LoginRequest = z.infer<typeof loginRequestSchema>;

/**
 * `POST /v1/auth/login`, `POST /v1/auth/setup`, `GET`/`PUT /v1/auth/session` response: who
 * the session is, what it may do, and the CSRF token its mutating requests must carry in
 * `x-csrf-token`.
 */
export const sessionResponseSchema = z.strictObject({
  user: userSchema,
  /** The tenant the session acts in; null for an owner (every tenant). */
  tenant: tenantSchema.nullable(),
  /** The role the session acts with. */
  role: accountRoleSchema,
  /** Send this in `x-csrf-token` on every POST, PUT, PATCH and DELETE made with the cookie. */
  csrfToken: z.string(),
  /** When the session ends whatever happens (its absolute lifetime). */
  expiresAt: timestampSchema,
  /** When the session ends if it is not used before (its idle timeout). */
  idleExpiresAt: timestampSchema,
});

/** A session as the API shows it. */
export type SessionResponse = z.infer<typeof sessionResponseSchema>;

/** `PUT /v1/auth/session` body: act in another of one's tenants. */
export const switchTenantRequestSchema = z.strictObject({ tenant: tenantSchema });

/** `POST /v1/auth/password` body. Other sessions of the person are ended. */
export const changePasswordRequestSchema = z.strictObject({
  currentPassword: passwordSchema,
  newPassword: newPasswordSchema,
});

/** `POST /v1/auth/setup` body: the first owner, with the one-time token `start` printed. */
export const setupRequestSchema = z.strictObject({
  token: z.string().min(16).max(512),
  email: emailSchema,
  password: newPasswordSchema,
});

/** `POST /v1/users` body. */
export const createUserRequestSchema = z.strictObject({
  email: emailSchema,
  password: newPasswordSchema,
  roles: z.array(roleGrantSchema).min(1).max(100),
});

/** `POST /v1/users` body. */
export type CreateUserRequest = z.infer<typeof createUserRequestSchema>;

/**
 * `PATCH /v1/users/:id` body. `roles` replaces the roles the caller manages (an owner: all; a
 * tenant admin: those in their tenant); `password` sets a new one. Either ends the person's
 * sessions, as does `disabled: true`.
 */
export const updateUserRequestSchema = z
  .strictObject({
    roles: z.array(roleGrantSchema).max(100).optional(),
    disabled: z.boolean().optional(),
    password: newPasswordSchema.optional(),
  })
  .refine(
    (body) =>
      body.roles !== undefined || body.disabled !== undefined || body.password !== undefined,
    'give at least one of roles, disabled, password',
  );

/** `PATCH /v1/users/:id` body. */
export type UpdateUserRequest = z.infer<typeof updateUserRequestSchema>;

/** `GET /v1/users` response, by e-mail. */
export const listUsersResponseSchema = z.strictObject({ users: z.array(userSchema) });
