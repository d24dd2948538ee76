-- JSON API sessions and login throttling.

create table refresh_tokens (
    id          uuid primary key,
    user_id     uuid not null references users (id) on delete cascade,
    -- every token descended from one login shares a family; presenting a token that was
    -- already rotated revokes the whole family (it was stolen or replayed)
    family_id   uuid not null,
    -- HMAC-SHA256 of the token under GODRIVE_JWT_REFRESH_SECRET; the token is never stored
    token_hmac  bytea not null constraint refresh_tokens_token_hmac_key unique,
    expires_at  timestamptz not null,
    -- set when exchanged for its successor
    rotated_at  timestamptz,
    -- set when the family is revoked (logout, reuse)
    revoked_at  timestamptz,
    created_at  timestamptz not null default now()
);
create index refresh_tokens_family_id on refresh_tokens (family_id);

-- Failed logins, counted per subject within a window; shared by every instance.
create table login_failures (
    -- 'email:<lowercased email>' or 'addr:<client address>'
    subject text not null,
    at      timestamptz not null default now()
);
create index login_failures_subject_at on login_failures (subject, at);
