//! The per-login guess budget.
//!
//! Every password or code check is paid for up front: [`reserve_for_email`] raises the
//! login's counter in one `UPDATE … RETURNING` whose `WHERE` refuses a
//! blocked login and a budget already spent, and only a request holding a
//! reservation may run argon2 or TOTP. However many requests arrive at once,
//! on however many connections, at most `max_attempts` checks are evaluated
//! per login per block window: the others are refused before any work.
//!
//! What happens to a reservation:
//! - a wrong password or code keeps it ([`fail`]); the failure whose
//!   reservation was the last of the budget sets the block and answers
//!   `LOGIN_RETRIES_EXCEEDED`, later ones `LOGIN_BLOCKED`;
//! - a correct code resets the whole counter ([`succeed`] with
//!   [`Proof::Code`]), in the same statement that refuses a replayed step and
//!   a blocked login;
//! - a correct password where no code is needed ([`Proof::Password`])
//!   forgives password failures but keeps the code failures: a sign-in to a
//!   password-only account of the same login never forgives wrong codes;
//! - a correct password that goes no further (`MISSING_OTP`, an unknown
//!   account id) gives back its own reservation only ([`give_back`]);
//! - a reservation dropped unanswered (the client went away) stays counted.
//!
//! A block that has run out starts a fresh budget at the next reservation.

use sqlx::Any;
use sqlx::any::AnyArguments;

use crate::store::{self, Conn, LOGIN_COLUMNS, Login, Partner, Pool};

/// The limits in force.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Checks a login may have evaluated before it is blocked.
    pub max_attempts: i64,
    /// How long a block lasts, in seconds.
    pub block_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            block_seconds: 15 * 60,
        }
    }
}

/// A reserved check: the right to evaluate one password (and, if it is
/// right, the code sent with it) for one login.
#[derive(Debug)]
#[must_use = "a reservation must be resolved (fail, succeed or give back)"]
pub struct Reservation {
    login_id: i64,
    /// This reservation's place in the budget (1-based).
    number: i64,
    /// The client address the check was asked from, when known (for the
    /// notice a block sends).
    client: Option<std::net::IpAddr>,
}

impl Reservation {
    /// The login the reservation is for.
    pub fn login_id(&self) -> i64 {
        self.login_id
    }

    /// The client address the check was asked from, when known.
    pub fn client(&self) -> Option<std::net::IpAddr> {
        self.client
    }

    /// The same reservation, asked from `client`.
    pub fn from_client(self, client: Option<std::net::IpAddr>) -> Self {
        Self { client, ..self }
    }
}

/// What a failed check guessed: a password, or (after a right password) an
/// authenticator code. Code failures are kept apart, since a password-only
/// success never forgives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// A wrong password.
    Password,
    /// A wrong (or replayed) authenticator code.
    Code,
}

/// What a failed check means for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Below the limit: answer with the failure's own code.
    Counted,
    /// This failure spent the budget: `LOGIN_RETRIES_EXCEEDED`; a parallel
    /// failure had already set the block.
    LimitReached,
    /// This failure spent the budget and set the block: the one failure per
    /// block for which the login's owner is told. Also answered
    /// `LOGIN_RETRIES_EXCEEDED`.
    Blocked,
}

/// What a correct answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// Accepted; the counter is reset (as far as the kind of success allows).
    Accepted,
    /// The login was blocked meanwhile by a parallel failure: the right
    /// answer does not count now.
    Blocked,
    /// (TOTP only) the time step was already used: a replay.
    Replay,
}

/// True while a block is in force.
pub fn is_blocked(blocked_until: Option<i64>, now: i64) -> bool {
    blocked_until.is_some_and(|t| t > now)
}

/// What a reservation sets. Every right-hand side reads the row as it was
/// before the update; a block that has run out (`blocked_until <= $2`)
/// starts a fresh budget.
const RESERVE_SET: &str =
    "failed_attempts = CASE WHEN blocked_until IS NOT NULL AND blocked_until <= $2
                               THEN 1 ELSE failed_attempts + 1 END,
        code_failures = CASE WHEN blocked_until IS NOT NULL AND blocked_until <= $2
                             THEN 0 ELSE code_failures END,
        blocked_until = CASE WHEN blocked_until IS NOT NULL AND blocked_until <= $2
                             THEN NULL ELSE blocked_until END";

/// Which rows a reservation may take a place of: not blocked (or a block
/// that has run out) and a budget (`$3`) not spent.
const RESERVE_WHERE: &str = "(blocked_until IS NOT NULL AND blocked_until <= $2
         OR blocked_until IS NULL AND failed_attempts < $3)";

/// What [`reserve_for_email`] found.
#[derive(Debug)]
pub enum Reserved {
    /// A check is reserved: the login (as the reservation left it) and its
    /// accounts, oldest membership first.
    Check(Box<Login>, Vec<Partner>, Reservation),
    /// The login (its id) is blocked or its budget is spent.
    Blocked(i64),
    /// No login has this email.
    Unknown,
}

#[derive(sqlx::FromRow)]
struct ReservedRow {
    #[sqlx(flatten)]
    login: Login,
    failed_attempts: i64,
    partners: Option<String>,
}

/// Reserves one check for the login with this email, atomically, before
/// any work, and returns the login and its accounts with the reservation:
/// one statement, so a sign-in's reads and its reservation cost one round
/// trip. [`Reserved::Blocked`] when the login is blocked or its budget is
/// spent (by failures or by checks still in flight). Only a refusal reads
/// again, to tell a blocked login from an unknown email.
///
/// Run it on the unsynced connection ([`store::Unsynced`]):
/// on SQLite the reservation then commits without an fsync of its own, and
/// losing it in a power cut gives back a guess; no answer rests on it
/// alone. A failed check ends in a write that syncs ([`fail`], on the
/// synced pool), and that fsync of the shared WAL makes this earlier commit
/// durable before the failure is answered. A process crash loses nothing:
/// the commit is in the WAL. One statement in its own transaction: a
/// request dropped while it runs cannot leave the connection inside one.
pub async fn reserve_for_email(
    conn: &mut Conn,
    email: &str,
    now: i64,
    limits: Limits,
) -> sqlx::Result<Reserved> {
    let backend = store::backend_of(conn);
    let sql = format!(
        "UPDATE logins SET {RESERVE_SET}
         WHERE {email} AND {RESERVE_WHERE}
         RETURNING {LOGIN_COLUMNS}, failed_attempts, {partners} AS partners",
        email = store::email_match(backend),
        partners = store::partners_json(backend, "logins.id"),
    );
    // At most one row (emails are unique). `fetch_optional` also spares a
    // reply: sqlx's SQLite worker sends the row and stops there, where
    // `fetch_all` sends the statement's end as well, waking the async
    // worker once more. SQLite makes all of a `RETURNING` statement's
    // changes at its first row, and they commit as the worker resets it.
    let row = sqlx::query_as::<_, ReservedRow>(&sql)
        .bind(email.trim())
        .bind(now)
        .bind(limits.max_attempts)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(match store::login_by_email_on(conn, email).await? {
            Some(login) => Reserved::Blocked(login.id),
            None => Reserved::Unknown,
        });
    };
    let partners = store::parse_partners_json(row.partners.as_deref())
        .map_err(|e| sqlx::Error::Decode(e.into()))?;
    let r = Reservation {
        login_id: row.login.id,
        number: row.failed_attempts,
        client: None,
    };
    Ok(Reserved::Check(Box::new(row.login), partners, r))
}

/// A wrong password or code: the reservation stays counted; the one that
/// held the last place of the budget sets the block. Whether this failure
/// set the block is decided by the `UPDATE` that sets it (`WHERE
/// blocked_until IS NULL`): of failures racing for the last place (a give
/// back can hand it out twice), on any number of replicas, exactly one sees
/// [`Failure::Blocked`].
pub async fn fail(
    pool: &Pool,
    r: Reservation,
    guess: Guess,
    now: i64,
    limits: Limits,
) -> sqlx::Result<Failure> {
    let code_failure = i64::from(guess == Guess::Code);
    let last = r.number >= limits.max_attempts;
    if last {
        let blocked = sqlx::query(
            "UPDATE logins SET code_failures = code_failures + $2, blocked_until = $3
             WHERE id = $1 AND blocked_until IS NULL",
        )
        .bind(r.login_id)
        .bind(code_failure)
        .bind(now + limits.block_seconds)
        .execute(pool)
        .await?
        .rows_affected()
            == 1;
        if blocked {
            return Ok(Failure::Blocked);
        }
    }
    sqlx::query("UPDATE logins SET code_failures = code_failures + $2 WHERE id = $1")
        .bind(r.login_id)
        .bind(code_failure)
        .execute(pool)
        .await?;
    Ok(if last {
        Failure::LimitReached
    } else {
        Failure::Counted
    })
}

/// A correct password that goes no further (`MISSING_OTP`, an unknown
/// account): gives back this reservation and nothing else.
pub async fn give_back(pool: &Pool, r: Reservation) -> sqlx::Result<()> {
    // code_failures is never negative, so it also keeps the counter at or
    // above zero.
    sqlx::query(
        "UPDATE logins SET failed_attempts = CASE WHEN failed_attempts - 1 > code_failures
                                              THEN failed_attempts - 1 ELSE code_failures END
         WHERE id = $1 AND blocked_until IS NULL",
    )
    .bind(r.login_id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// What proved a right password's sign-in beyond the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Nothing more was needed (a password-only account, or a password
    /// change on a login without an authenticator).
    Password,
    /// A right authenticator code for this time step.
    Code { step: i64 },
}

/// A right password (and code): accepted in one statement unless the login
/// was blocked meanwhile or (with a code) the step was already used. A
/// password alone forgives password failures and keeps code failures; a
/// code records its step and resets the whole counter. `last_partner`, when
/// given, is remembered as the login's default account in the same
/// statement. A refused replay keeps the reservation (the caller counts it
/// as a failure).
///
/// It takes a connection so that a sign-in can run it in the transaction
/// that also creates its session: one commit for both. A caller holding a
/// transaction must end it before it counts a refusal, which writes on
/// another connection.
pub async fn succeed(
    conn: &mut Conn,
    r: &Reservation,
    proof: Proof,
    last_partner: Option<i64>,
    now: i64,
) -> sqlx::Result<Success> {
    let query = bind_accept(sqlx::query(accept_sql(proof)), r, proof, last_partner, now);
    if query.execute(&mut *conn).await?.rows_affected() == 1 {
        return Ok(Success::Accepted);
    }
    refused(conn, r, proof, now).await
}

/// Lifts a block and clears both counters of the login with this email
/// (the help desk's `user unblock`), in one statement; its id, or `None`
/// when there is none. A check reserved before and still in flight is
/// then resolved against the cleared counter, which only ever gives the
/// login more room, never less.
pub async fn unblock(pool: &Pool, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(&format!(
        "UPDATE logins SET failed_attempts = 0, code_failures = 0, blocked_until = NULL
         WHERE {} RETURNING id",
        store::email_match(store::backend(pool))
    ))
    .bind(email.trim())
    .fetch_optional(pool)
    .await
}

/// The `UPDATE` of [`succeed`]: `$1` the login, `$2` now, `$3` the account
/// to remember (or NULL), `$4` the code's step (a code only). An account to
/// remember means a session is being created: then `now` is also the
/// login's last sign-in.
pub(crate) fn accept_sql(proof: Proof) -> &'static str {
    match proof {
        Proof::Password => {
            "UPDATE logins SET failed_attempts = code_failures,
                last_partner_id = COALESCE($3, last_partner_id),
                last_signin_at = CASE WHEN $3 IS NULL THEN last_signin_at ELSE $2 END
             WHERE id = $1 AND (blocked_until IS NULL OR blocked_until <= $2)"
        }
        Proof::Code { .. } => {
            "UPDATE logins SET failed_attempts = 0, code_failures = 0, blocked_until = NULL,
                last_otp_step = $4, last_partner_id = COALESCE($3, last_partner_id),
                last_signin_at = CASE WHEN $3 IS NULL THEN last_signin_at ELSE $2 END
             WHERE id = $1 AND (blocked_until IS NULL OR blocked_until <= $2)
               AND (last_otp_step IS NULL OR last_otp_step < $4)"
        }
    }
}

/// Binds [`accept_sql`]'s `$1`–`$4` as the first arguments of `query`. A
/// password's `UPDATE` has no `$4`; it is bound anyway (typed, so
/// PostgreSQL accepts it unused, and SQLite ignores it), so that a statement
/// built on it numbers its own arguments from `$5` for either proof.
pub(crate) fn bind_accept<'q>(
    query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    r: &Reservation,
    proof: Proof,
    last_partner: Option<i64>,
    now: i64,
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    let step = match proof {
        Proof::Code { step } => step,
        Proof::Password => 0,
    };
    query
        .bind(r.login_id)
        .bind(now)
        .bind(last_partner)
        .bind(step)
}

/// Why [`accept_sql`] changed no row: a password can only have met a
/// block; a code met a block or a used step.
pub(crate) async fn refused(
    conn: &mut Conn,
    r: &Reservation,
    proof: Proof,
    now: i64,
) -> sqlx::Result<Success> {
    if proof == Proof::Password {
        return Ok(Success::Blocked);
    }
    let blocked_until: Option<i64> =
        sqlx::query_scalar("SELECT blocked_until FROM logins WHERE id = $1")
            .bind(r.login_id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    Ok(if is_blocked(blocked_until, now) {
        Success::Blocked
    } else {
        Success::Replay
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`succeed`] on a connection of its own, remembering no account.
    async fn accept(pool: &Pool, r: &Reservation, proof: Proof, now: i64) -> Success {
        let mut conn = pool.acquire().await.unwrap();
        succeed(&mut conn, r, proof, None, now).await.unwrap()
    }

    async fn pool_with_login() -> (tempfile::TempDir, Pool) {
        with_login(crate::store::test_pool().await).await
    }

    /// Adds login 1 (`a@b.c`) to a fresh pool.
    async fn with_login((dir, pool): (tempfile::TempDir, Pool)) -> (tempfile::TempDir, Pool) {
        sqlx::query("INSERT INTO logins (id, email, created_at) VALUES (1, 'a@b.c', 0)")
            .execute(&pool)
            .await
            .unwrap();
        (dir, pool)
    }

    async fn counters(pool: &Pool) -> (i64, i64, Option<i64>) {
        sqlx::query_as("SELECT failed_attempts, code_failures, blocked_until FROM logins")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    const LIMITS: Limits = Limits {
        max_attempts: 3,
        block_seconds: 60,
    };

    async fn add_partner(pool: &Pool, id: i64, two_factor: i64, member_since: i64) {
        sqlx::query(
            "INSERT INTO partners (id, name, two_factor, created_at) VALUES ($1, $2, $3, 0)",
        )
        .bind(id)
        .bind(format!("Partner «{id}»"))
        .bind(two_factor)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO users (login_id, partner_id, created_at) VALUES (1, $1, $2)")
            .bind(id)
            .bind(member_since)
            .execute(pool)
            .await
            .unwrap();
    }

    /// A reservation for login 1 (`a@b.c`) at `now`: `None` when refused.
    async fn reserve(pool: &Pool, now: i64) -> Option<Reservation> {
        let mut conn = pool.acquire().await.unwrap();
        match reserve_for_email(&mut conn, "a@b.c", now, LIMITS)
            .await
            .unwrap()
        {
            Reserved::Check(_, _, r) => Some(r),
            Reserved::Blocked(_) => None,
            Reserved::Unknown => panic!("login 1 exists"),
        }
    }

    async fn reserve_email(pool: &Pool, email: &str) -> sqlx::Result<Reserved> {
        let mut conn = pool.acquire().await.unwrap();
        reserve_for_email(&mut conn, email, 100, LIMITS).await
    }

    #[tokio::test]
    async fn a_reservation_by_email_returns_the_login_and_its_accounts_oldest_first() {
        let (_d, pool) = pool_with_login().await;
        add_partner(&pool, 7, 1, 20).await;
        add_partner(&pool, 5, 0, 10).await;
        let Reserved::Check(login, partners, r) = reserve_email(&pool, " A@B.C ").await.unwrap()
        else {
            panic!("the login exists and has its budget");
        };
        assert_eq!((login.id, r.number), (1, 1));
        let got: Vec<_> = partners
            .iter()
            .map(|p| (p.id, p.name.as_str(), p.two_factor))
            .collect();
        assert_eq!(got, [(5, "Partner «5»", false), (7, "Partner «7»", true)]);
        assert!(matches!(
            reserve_email(&pool, "x@b.c").await.unwrap(),
            Reserved::Unknown
        ));
        for _ in 1..LIMITS.max_attempts {
            assert!(matches!(
                reserve_email(&pool, "a@b.c").await.unwrap(),
                Reserved::Check(..)
            ));
        }
        assert!(matches!(
            reserve_email(&pool, "a@b.c").await.unwrap(),
            Reserved::Blocked(_)
        ));
    }

    #[tokio::test]
    async fn a_login_with_no_account_is_reserved_with_an_empty_list() {
        let (_d, pool) = pool_with_login().await;
        let Reserved::Check(_, partners, _) = reserve_email(&pool, "a@b.c").await.unwrap() else {
            panic!("the login exists");
        };
        assert!(partners.is_empty());
    }

    #[tokio::test]
    async fn a_reservation_gives_back_a_connection_outside_any_transaction() {
        let (_d, pool) = with_login(crate::store::test_pool_of_one().await).await;
        assert!(matches!(
            reserve_email(&pool, "a@b.c").await.unwrap(),
            Reserved::Check(..)
        ));
        assert!(crate::store::next_connection_is_clean(&pool).await);
    }

    #[tokio::test]
    async fn a_reservation_dropped_while_it_waits_leaves_no_transaction_behind() {
        let (dir, pool) = crate::store::test_pool_of_one().await;
        let (dir, pool) = with_login((dir, pool)).await;
        let mut lock = crate::store::hold_logins_lock(dir.path(), &pool).await;
        let mut conn = pool.acquire().await.unwrap();
        // The client goes away while the reservation waits for the lock.
        let waited = std::time::Duration::from_millis(300);
        let reserving = reserve_for_email(&mut conn, "a@b.c", 100, LIMITS);
        assert!(tokio::time::timeout(waited, reserving).await.is_err());
        drop(conn);
        sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
        drop(lock);
        assert!(crate::store::next_connection_is_clean(&pool).await);
    }

    #[tokio::test]
    async fn a_reservation_that_cannot_write_is_an_error_and_counts_nothing() {
        let (_d, pool) = with_login(crate::store::test_pool_of_one().await).await;
        let mut conn = pool.acquire().await.unwrap();
        crate::store::make_read_only(&mut conn).await;
        assert!(
            reserve_for_email(&mut conn, "a@b.c", 100, LIMITS)
                .await
                .is_err()
        );
        conn.close().await.unwrap();
        assert_eq!(counters(&pool).await, (0, 0, None));
    }

    #[tokio::test]
    async fn the_budget_is_spent_by_reservations_in_flight_not_only_by_failures() {
        let (_d, pool) = pool_with_login().await;
        let held = reserve_n(&pool, 5).await;
        assert_eq!(held.iter().filter(|r| r.is_some()).count(), 3);
        assert_eq!(counters(&pool).await, (3, 0, None));
    }

    async fn reserve_n(pool: &Pool, n: usize) -> Vec<Option<Reservation>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(reserve(pool, 100).await);
        }
        out
    }

    #[tokio::test]
    async fn the_failure_holding_the_last_place_blocks_and_the_block_runs_out() {
        let (_d, pool) = pool_with_login().await;
        let mut results = Vec::new();
        for _ in 0..3 {
            let r = reserve(&pool, 100).await.unwrap();
            results.push(fail(&pool, r, Guess::Password, 100, LIMITS).await.unwrap());
        }
        assert_eq!(
            results,
            [Failure::Counted, Failure::Counted, Failure::Blocked]
        );
        assert_eq!(counters(&pool).await, (3, 0, Some(160)));
        assert!(reserve(&pool, 159).await.is_none());
        let fresh = reserve(&pool, 160).await.unwrap();
        assert_eq!(fresh.number, 1);
        assert_eq!(counters(&pool).await, (1, 0, None));
    }

    #[tokio::test]
    async fn of_two_failures_holding_the_last_place_only_the_one_that_blocks_says_so() {
        let (_d, pool) = pool_with_login().await;
        let _first = reserve(&pool, 100).await.unwrap();
        let given_back = reserve(&pool, 100).await.unwrap();
        let last = reserve(&pool, 100).await.unwrap();
        // A right password with no code gives its place back: the last
        // place is handed out a second time.
        give_back(&pool, given_back).await.unwrap();
        let last_again = reserve(&pool, 100).await.unwrap();
        assert_eq!((last.number, last_again.number), (3, 3));
        let outcomes = [
            fail(&pool, last, Guess::Password, 100, LIMITS)
                .await
                .unwrap(),
            fail(&pool, last_again, Guess::Code, 100, LIMITS)
                .await
                .unwrap(),
        ];
        assert_eq!(outcomes, [Failure::Blocked, Failure::LimitReached]);
        assert_eq!(counters(&pool).await, (3, 1, Some(160)));
    }

    #[tokio::test]
    async fn a_success_without_a_code_forgives_password_failures_but_not_code_failures() {
        let (_d, pool) = pool_with_login().await;
        let r = reserve(&pool, 100).await.unwrap();
        fail(&pool, r, Guess::Code, 100, LIMITS).await.unwrap();
        let r = reserve(&pool, 100).await.unwrap();
        fail(&pool, r, Guess::Password, 100, LIMITS).await.unwrap();
        let r = reserve(&pool, 100).await.unwrap();
        assert_eq!(
            accept(&pool, &r, Proof::Password, 100).await,
            Success::Accepted
        );
        assert_eq!(counters(&pool).await, (1, 1, None));
        let r = reserve(&pool, 100).await.unwrap();
        assert_eq!(
            accept(&pool, &r, Proof::Code { step: 7 }, 100).await,
            Success::Accepted
        );
        assert_eq!(counters(&pool).await, (0, 0, None));
    }

    #[tokio::test]
    async fn giving_back_returns_only_the_own_reservation() {
        let (_d, pool) = pool_with_login().await;
        let r = reserve(&pool, 100).await.unwrap();
        fail(&pool, r, Guess::Code, 100, LIMITS).await.unwrap();
        let r = reserve(&pool, 100).await.unwrap();
        give_back(&pool, r).await.unwrap();
        assert_eq!(counters(&pool).await, (1, 1, None));
    }

    #[tokio::test]
    async fn a_replayed_step_and_a_block_refuse_a_correct_code() {
        let (_d, pool) = pool_with_login().await;
        let r = reserve(&pool, 100).await.unwrap();
        assert_eq!(
            accept(&pool, &r, Proof::Code { step: 7 }, 100).await,
            Success::Accepted
        );
        let r = reserve(&pool, 100).await.unwrap();
        assert_eq!(
            accept(&pool, &r, Proof::Code { step: 7 }, 100).await,
            Success::Replay
        );
        fail(&pool, r, Guess::Code, 100, LIMITS).await.unwrap();
        let a = reserve(&pool, 100).await.unwrap();
        let b = reserve(&pool, 100).await.unwrap();
        fail(&pool, b, Guess::Password, 100, LIMITS).await.unwrap();
        assert_eq!(
            accept(&pool, &a, Proof::Code { step: 8 }, 100).await,
            Success::Blocked
        );
    }
}
