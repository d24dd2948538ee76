-- Where each account has logged in successfully from: an address that is refused for
-- spraying failed logins across many accounts still lets through the accounts that are
-- known to log in from it (the people behind the same NAT or proxy as an attacker).
create table login_known_clients (
    -- '<normalized email>|<client address>'
    subject    text primary key,
    last_ok_at timestamptz not null default now()
);

-- login_failures also counts registrations per client address ('register:<address>');
-- its subjects are now 'pair:<email>|<address>', 'email:<email>', 'addr:<address>' and
-- 'register:<address>'.
