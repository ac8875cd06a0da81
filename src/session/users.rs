//! The user registry and the log-on rules: who may log on, and what administrators may do
//! to accounts. PINs are stored only as argon2id hashes (PHC strings).

use argon2::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, NaiveDate, Utc};

use super::Session;
use super::roles::{Permission, Role};
use crate::audit::{AuditAction, AuditEvent};
use crate::store::records::from_ms;
use crate::store::users::{NewUserRow, UserRow, UserTable};
use crate::store::{Store, StoreError};

/// Shortest PIN accepted.
pub const MIN_PIN_LEN: usize = 6;

/// State of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// May log on (if certified).
    Active,
    /// Locked after repeated wrong PINs; an administrator reactivates or resets the PIN.
    Locked,
    /// Suspended by an administrator or for inactivity; an administrator reactivates.
    Suspended,
    /// Deactivated on separation; permanent.
    Deactivated,
}

impl UserStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Suspended => "suspended",
            Self::Deactivated => "deactivated",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Locked, Self::Suspended, Self::Deactivated].into_iter().find(|s| s.as_str() == text)
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Login id (badge number).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Organization (agency) of the user.
    pub organization: String,
    /// Account state.
    pub status: UserStatus,
    /// Why it is in that state (suspension reason, separation...).
    pub status_reason: String,
    /// Date ALPR training was completed.
    pub trained_on: Option<NaiveDate>,
    /// Last day the certification is valid.
    pub certified_until: Option<NaiveDate>,
    /// Consecutive wrong PINs.
    pub failed_attempts: u32,
    /// Last log-on, creation or reactivation: the inactivity clock starts here.
    pub last_activity: Option<DateTime<Utc>>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Initial PIN (hashed before it is stored).
    pub pin: String,
    /// Training date.
    pub trained_on: Option<NaiveDate>,
    /// Certification expiry.
    pub certified_until: Option<NaiveDate>,
}

/// Why a log-on was refused; the text is what the officer sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefusal {
    /// No such user (the message does not say so, to avoid enumerating accounts).
    #[error("wrong user id or PIN")]
    UnknownUser,
    /// Wrong PIN: said exactly as an unknown id is, so ids cannot be enumerated.
    #[error("wrong user id or PIN")]
    WrongPin {
        /// Attempts left before lockout (in the audit row, not the message).
        remaining: u32,
    },
    /// Locked after repeated failures.
    #[error("account locked after repeated wrong PINs: contact the ALPR Administrator")]
    Locked,
    /// Suspended.
    #[error("account suspended ({0}): contact the ALPR Administrator")]
    Suspended(String),
    /// Deactivated on separation.
    #[error("account deactivated: contact the ALPR Administrator")]
    Deactivated,
    /// No training or certification on record.
    #[error("no ALPR training and certification on record: contact the ALPR Administrator")]
    NotCertified,
    /// Certification expired.
    #[error("certification expired on {0}: contact the ALPR Administrator")]
    CertificationExpired(NaiveDate),
}

impl LoginRefusal {
    /// What the audit row says: the message, and for a wrong PIN the attempts left.
    pub fn audit_detail(&self) -> String {
        match self {
            Self::WrongPin { remaining } => format!("{self} ({remaining} attempts left before the account locks)"),
            other => other.to_string(),
        }
    }
}

/// A PIN hash no account has, checked against for an unknown id so that refusing it takes as
/// long as refusing a real account's wrong PIN.
fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_pin("no account has this PIN").unwrap_or_default())
}

/// Errors of account operations.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A log-on was refused.
    #[error("log-on refused: {0}")]
    Refused(LoginRefusal),
    /// The actor's role does not allow the operation (refusal audited).
    #[error("{user} ({role}) may not {what}")]
    Forbidden {
        /// Who tried.
        user: String,
        /// Their role.
        role: &'static str,
        /// What they tried.
        what: String,
    },
    /// No such user.
    #[error("no user {0}")]
    NoSuchUser(String),
    /// The id is taken.
    #[error("user {0} already exists")]
    Exists(String),
    /// The request is not valid (PIN too short, last administrator...).
    #[error("{0}")]
    Invalid(String),
    /// PIN hashing failed.
    #[error("PIN hashing failed: {0}")]
    Hash(String),
}

/// The account rules from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRules {
    /// Consecutive wrong PINs that lock an account.
    pub lockout_failures: u32,
    /// Days without activity after which an account is suspended (0: never).
    pub inactive_suspend_days: u32,
}

impl AccountRules {
    /// The rules the `[store]` settings give (at least one wrong PIN before a lockout).
    pub fn from_settings(store: &crate::config::StoreConfig) -> Self {
        Self { lockout_failures: store.lockout_failures.max(1), inactive_suspend_days: store.inactive_suspend_days }
    }
}

impl AccountRules {
    /// True when `user` is active but has not logged on for longer than the limit.
    pub fn is_inactive(&self, user: &User, now: DateTime<Utc>) -> bool {
        self.inactive_suspend_days > 0
            && user.status == UserStatus::Active
            && user
                .last_activity
                .is_some_and(|last| now - last > chrono::Duration::days(i64::from(self.inactive_suspend_days)))
    }
}

impl Default for AccountRules {
    fn default() -> Self {
        Self { lockout_failures: 5, inactive_suspend_days: 90 }
    }
}

/// Hashes a PIN with argon2id and a random salt.
pub fn hash_pin(pin: &str) -> Result<String, SessionError> {
    argon2::Argon2::default()
        .hash_password(pin.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| SessionError::Hash(err.to_string()))
}

fn pin_matches(pin: &str, stored: &str) -> bool {
    <argon2::Argon2<'_> as PasswordVerifier<str>>::verify_password(&argon2::Argon2::default(), pin.as_bytes(), stored)
        .is_ok()
}

fn check_pin_shape(pin: &str) -> Result<(), SessionError> {
    if pin.chars().count() < MIN_PIN_LEN {
        return Err(SessionError::Invalid(format!("a PIN needs at least {MIN_PIN_LEN} characters")));
    }
    Ok(())
}

fn parse_date(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// A stored row as a user; an unknown role or status is reported as corrupt rather than
/// guessed, because guessing a role could grant rights.
fn user_of(row: UserRow) -> Result<(User, String), StoreError> {
    let (Some(role), Some(status)) = (Role::parse(&row.role), UserStatus::parse(&row.status)) else {
        return Err(StoreError::Corrupt(format!("user {}: role {:?}, status {:?}", row.id, row.role, row.status)));
    };
    let user = User {
        trained_on: parse_date(row.trained_on.as_deref()),
        certified_until: parse_date(row.certified_until.as_deref()),
        failed_attempts: row.failed_attempts.clamp(0, i64::from(u32::MAX)) as u32,
        last_activity: row.last_activity_ms.map(from_ms),
        id: row.id,
        name: row.name,
        role,
        organization: row.organization,
        status,
        status_reason: row.status_reason,
    };
    Ok((user, row.pin_hash))
}

/// Loads a user and its PIN hash.
fn load(users: UserTable<'_>, id: &str) -> Result<Option<(User, String)>, StoreError> {
    users.get(id)?.map(user_of).transpose()
}

/// How long a log-on waits for a PIN attempt while others of the same account are in flight.
const RESERVE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Suspends an account for inactivity in the caller's transaction (audited as `system`) and
/// returns the reason. The last active administrator is never suspended this way: nobody
/// could then reactivate anyone, so the log-on goes ahead and the log notes why.
fn suspend_for_inactivity(
    users: UserTable<'_>,
    org: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let Some((user, _)) = load(users, id)? else { return Ok(None) };
    let since = user.last_activity.map_or_else(|| "creation".to_owned(), |t| t.date_naive().to_string());
    if user.role == Role::Administrator && users.active_administrators()? <= 1 {
        let note = format!("inactive since {since}: not suspended, the last active administrator");
        users.audit(&AuditEvent { time: now, ..AuditEvent::new("system", org, AuditAction::Admin, id, &note) })?;
        return Ok(None);
    }
    let reason = format!("inactive since {since}");
    users.set_status(id, UserStatus::Suspended.as_str(), &reason)?;
    users.audit(&AuditEvent {
        time: now,
        ..AuditEvent::new("system", org, AuditAction::Admin, id, &format!("suspended: {reason}"))
    })?;
    Ok(Some(reason))
}

/// The account service: log-on, log-off, authorization and administration.
#[derive(Debug, Clone, Copy)]
pub struct Accounts<'a> {
    store: &'a Store,
    rules: AccountRules,
}

impl<'a> Accounts<'a> {
    /// The service over `store` with `rules`.
    pub fn new(store: &'a Store, rules: AccountRules) -> Self {
        Self { store, rules }
    }

    fn org(&self) -> String {
        self.store.organization().to_owned()
    }

    fn audit(&self, user: &str, action: AuditAction, object: &str, outcome: &str) -> Result<(), SessionError> {
        self.store.audit(AuditEvent::new(user, self.store.organization(), action, object, outcome))?;
        Ok(())
    }

    /// Looks a user up.
    pub fn get(&self, id: &str) -> Result<Option<User>, SessionError> {
        // User ids are case-insensitive: the console's keypad types capitals.
        let id = &id.to_ascii_lowercase();
        let id = id.to_owned();
        Ok(self.store.read(|conn| load(UserTable::new(conn), &id))?.map(|(user, _)| user))
    }

    /// Number of accounts.
    pub fn count(&self) -> Result<i64, SessionError> {
        Ok(self.store.read(|conn| UserTable::new(conn).count())?)
    }

    /// Checks that `actor` may do `permission`; a refusal is audited under `action` with
    /// `what` as the object, and returned as [`SessionError::Forbidden`].
    pub fn authorize(
        &self,
        actor: &User,
        permission: Permission,
        action: AuditAction,
        what: &str,
    ) -> Result<(), SessionError> {
        if actor.status == UserStatus::Active && actor.role.allows(permission) {
            return Ok(());
        }
        self.audit(&actor.id, action, what, &format!("refused: role {} lacks {permission:?}", actor.role.as_str()))?;
        Err(SessionError::Forbidden { user: actor.id.clone(), role: actor.role.as_str(), what: what.to_owned() })
    }

    /// Reserves a PIN attempt ([`UserTable::reserve_attempt`]). While other log-ons of the same account
    /// are in flight they hold reservations a right PIN gives back within moments, so a refusal
    /// for want of one is retried for up to [`RESERVE_WAIT`] before it stands; an account
    /// locked meanwhile ends the wait at once.
    fn reserve_attempt_waiting(&self, id: &str, limit: u32) -> Result<Option<u32>, SessionError> {
        let started = std::time::Instant::now();
        loop {
            let uid = id.to_owned();
            if let Some(count) = self.store.write(move |conn| UserTable::new(conn).reserve_attempt(&uid, limit))? {
                return Ok(Some(count));
            }
            let owned = id.to_owned();
            let locked = self
                .store
                .read(|conn| load(UserTable::new(conn), &owned))?
                .is_none_or(|(u, _)| u.status == UserStatus::Locked);
            if locked || started.elapsed() >= RESERVE_WAIT {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Checks a user's PIN and every log-on rule; audits success, failure and lockout.
    ///
    /// Before the PIN is known to be right, every refusal but a lockout reads the same
    /// ("wrong user id or PIN") and costs the same time whether or not the id exists, so ids
    /// cannot be enumerated; only a right PIN learns why an account may not log on (suspended
    /// and why, deactivated, certification). The attempts left are in the audit row only.
    pub fn authenticate(&self, id: &str, pin: &str, now: DateTime<Utc>) -> Result<User, SessionError> {
        let id = &id.to_ascii_lowercase();
        let refuse = |user: &str, refusal: LoginRefusal| -> Result<User, SessionError> {
            self.audit(user, AuditAction::LogonFailure, user, &format!("refused: {}", refusal.audit_detail()))?;
            Err(SessionError::Refused(refusal))
        };
        let owned = id.to_owned();
        let Some((user, hash)) = self.store.read(|conn| load(UserTable::new(conn), &owned))? else {
            // The same work as checking a real PIN: the answer's timing tells nothing either.
            let _ = pin_matches(pin, unknown_user_hash());
            return refuse(id, LoginRefusal::UnknownUser);
        };
        if user.status == UserStatus::Locked {
            return refuse(id, LoginRefusal::Locked);
        }
        // Reserve the attempt before the PIN is checked: the count goes up in one statement,
        // only while the account is under the limit, so however many log-ons run at once (in
        // this process or others on the same data dir), no more PINs are ever tried than the
        // lockout allows. A right PIN gives the attempt back below.
        let limit = self.rules.lockout_failures;
        let active = user.status == UserStatus::Active;
        let Some(failures) = self.reserve_attempt_waiting(id, limit)? else {
            // No attempt left: an active account was locked by the attempt that used the last.
            let locked = self
                .store
                .read(|conn| load(UserTable::new(conn), &owned))?
                .is_some_and(|(u, _)| u.status == UserStatus::Locked);
            return refuse(id, if locked { LoginRefusal::Locked } else { LoginRefusal::WrongPin { remaining: 0 } });
        };
        if !pin_matches(pin, &hash) {
            // Only an active account locks: a suspended or deactivated one keeps its state (and
            // its reason) and simply gets no more PIN checks until the administrator acts.
            let locks = active && failures >= limit;
            if locks {
                let (uid, org) = (id.to_owned(), self.org());
                self.store.write(move |conn| {
                    let users = UserTable::new(conn);
                    users.set_status(&uid, UserStatus::Locked.as_str(), &format!("{failures} wrong PINs"))?;
                    users.audit(&AuditEvent::new(
                        &uid,
                        &org,
                        AuditAction::Lockout,
                        &uid,
                        &format!("locked after {failures} wrong PINs"),
                    ))
                })?;
            }
            let remaining = limit.saturating_sub(failures);
            return refuse(id, if locks { LoginRefusal::Locked } else { LoginRefusal::WrongPin { remaining } });
        }
        let uid = id.to_owned();
        self.store.write(move |conn| UserTable::new(conn).clear_attempts(&uid, None))?;
        // The PIN is right: the account's state may be told now.
        match user.status {
            UserStatus::Deactivated => return refuse(id, LoginRefusal::Deactivated),
            UserStatus::Suspended => return refuse(id, LoginRefusal::Suspended(user.status_reason.clone())),
            UserStatus::Active | UserStatus::Locked => {}
        }
        if self.rules.is_inactive(&user, now) {
            let (uid, org) = (id.to_owned(), self.org());
            if let Some(reason) =
                self.store.write(move |conn| suspend_for_inactivity(UserTable::new(conn), &org, &uid, now))?
            {
                return refuse(id, LoginRefusal::Suspended(reason));
            }
        }
        match user.certified_until {
            _ if user.trained_on.is_none() => return refuse(id, LoginRefusal::NotCertified),
            None => return refuse(id, LoginRefusal::NotCertified),
            Some(until) if until < now.date_naive() => {
                return refuse(id, LoginRefusal::CertificationExpired(until));
            }
            Some(_) => {}
        }
        let (uid, org, now_ms) = (id.to_owned(), self.org(), now.timestamp_millis());
        self.store.write(move |conn| {
            let users = UserTable::new(conn);
            users.clear_attempts(&uid, Some(now_ms))?;
            users.audit(&AuditEvent { time: now, ..AuditEvent::new(&uid, &org, AuditAction::LogonSuccess, &uid, "ok") })
        })?;
        Ok(User { failed_attempts: 0, last_activity: Some(now), ..user })
    }

    /// Authenticates and opens a shift.
    pub fn log_on(&self, id: &str, pin: &str, now: DateTime<Utc>) -> Result<Session, SessionError> {
        let user = self.authenticate(id, pin, now)?;
        let shift_id = self.store.start_shift(&user.id, now)?;
        Ok(Session { user, shift_id, started: now })
    }

    /// Closes the session's shift and audits the log-off.
    pub fn log_off(&self, session: &Session, now: DateTime<Utc>) -> Result<(), SessionError> {
        self.store.end_shift(session.shift_id, now)?;
        let event = AuditEvent {
            time: now,
            ..AuditEvent::new(
                &session.user.id,
                self.store.organization(),
                AuditAction::Logoff,
                &format!("shift {}", session.shift_id),
                "ok",
            )
        };
        self.store.audit(event)?;
        Ok(())
    }

    fn insert(&self, actor: &str, mut new: NewUser, outcome: String) -> Result<(), SessionError> {
        new.id = new.id.to_ascii_lowercase();
        check_pin_shape(&new.pin)?;
        let hash = hash_pin(&new.pin)?;
        let (org, actor) = (self.org(), actor.to_owned());
        let bootstrap = actor == "bootstrap";
        self.store.write(move |conn| {
            let users = UserTable::new(conn);
            if bootstrap && users.count()? > 0 {
                return Ok(Err(SessionError::Invalid(
                    "users exist already: an administrator must add users (--as ADMIN)".into(),
                )));
            }
            if users.get(&new.id)?.is_some() {
                return Ok(Err(SessionError::Exists(new.id.clone())));
            }
            users.insert(&NewUserRow {
                id: &new.id,
                name: &new.name,
                role: new.role.as_str(),
                organization: &org,
                pin_hash: &hash,
                trained_on: new.trained_on.map(|d| d.to_string()),
                certified_until: new.certified_until.map(|d| d.to_string()),
                created_ms: Utc::now().timestamp_millis(),
            })?;
            users.audit(&AuditEvent::new(&actor, &org, AuditAction::Admin, &new.id, &outcome))?;
            Ok(Ok(()))
        })?
    }

    /// Creates the first administrator on an empty registry (audited as bootstrap).
    pub fn bootstrap_admin(&self, new: NewUser) -> Result<(), SessionError> {
        if new.role != Role::Administrator {
            return Err(SessionError::Invalid("the first user must be an administrator".into()));
        }
        let outcome = format!("bootstrap: created first administrator {}", new.name);
        self.insert("bootstrap", new, outcome)
    }

    /// Creates a user (administrators only).
    pub fn create_user(&self, actor: &User, new: NewUser) -> Result<(), SessionError> {
        self.authorize(actor, Permission::ManageUsers, AuditAction::Admin, &format!("create user {}", new.id))?;
        let outcome = format!(
            "created {} {} (trained {:?}, certified until {:?})",
            new.role.as_str(),
            new.name,
            new.trained_on,
            new.certified_until
        );
        self.insert(&actor.id, new, outcome)
    }

    /// Applies an administrative change to an existing user in one transaction with its
    /// audit row. `change` returns the audit outcome text.
    fn administer<F>(
        &self,
        actor: &User,
        target: &str,
        what: &str,
        action: AuditAction,
        change: F,
    ) -> Result<(), SessionError>
    where
        F: FnOnce(UserTable<'_>, &User) -> Result<Result<String, SessionError>, StoreError> + Send + 'static,
    {
        self.authorize(actor, Permission::ManageUsers, action, &format!("{what} {target}"))?;
        let (actor_id, org, target) = (actor.id.clone(), self.org(), target.to_owned());
        self.store.write(move |conn| {
            let users = UserTable::new(conn);
            let Some((user, _)) = load(users, &target)? else {
                return Ok(Err(SessionError::NoSuchUser(target.clone())));
            };
            match change(users, &user)? {
                Ok(outcome) => {
                    users.audit(&AuditEvent::new(&actor_id, &org, action, &target, &outcome))?;
                    Ok(Ok(()))
                }
                Err(err) => Ok(Err(err)),
            }
        })?
    }

    /// Records training and certification dates.
    pub fn certify(
        &self,
        actor: &User,
        id: &str,
        trained_on: NaiveDate,
        certified_until: NaiveDate,
    ) -> Result<(), SessionError> {
        let id = &id.to_ascii_lowercase();
        if certified_until < trained_on {
            return Err(SessionError::Invalid("certification cannot expire before training".into()));
        }
        self.administer(actor, id, "certify", AuditAction::Admin, move |users, user| {
            users.set_certification(&user.id, &trained_on.to_string(), &certified_until.to_string())?;
            Ok(Ok(format!("certified: trained {trained_on}, valid until {certified_until}")))
        })
    }

    /// Suspends an account.
    pub fn suspend(&self, actor: &User, id: &str, reason: &str) -> Result<(), SessionError> {
        let id = &id.to_ascii_lowercase();
        let reason = reason.to_owned();
        self.administer(actor, id, "suspend", AuditAction::Admin, move |users, user| {
            if user.status == UserStatus::Deactivated {
                return Ok(Err(SessionError::Invalid(format!("{} is deactivated", user.id))));
            }
            if user.role == Role::Administrator
                && user.status == UserStatus::Active
                && users.active_administrators()? <= 1
            {
                return Ok(Err(SessionError::Invalid("cannot suspend the last active administrator".into())));
            }
            users.set_status(&user.id, UserStatus::Suspended.as_str(), &reason)?;
            Ok(Ok(format!("suspended: {reason}")))
        })
    }

    /// Reactivates a suspended or locked account and restarts its inactivity clock.
    pub fn reactivate(&self, actor: &User, id: &str) -> Result<(), SessionError> {
        let id = &id.to_ascii_lowercase();
        self.administer(actor, id, "reactivate", AuditAction::Admin, move |users, user| {
            if user.status == UserStatus::Deactivated {
                return Ok(Err(SessionError::Invalid(format!(
                    "{} was deactivated on separation: create a new account",
                    user.id
                ))));
            }
            users.reactivate(&user.id, Utc::now().timestamp_millis())?;
            Ok(Ok(format!("reactivated (was {})", user.status.as_str())))
        })
    }

    /// Deactivates an account on separation (permanent).
    pub fn deactivate(&self, actor: &User, id: &str, reason: &str) -> Result<(), SessionError> {
        let id = &id.to_ascii_lowercase();
        let reason = reason.to_owned();
        self.administer(actor, id, "deactivate", AuditAction::Admin, move |users, user| {
            if user.role == Role::Administrator
                && user.status == UserStatus::Active
                && users.active_administrators()? <= 1
            {
                return Ok(Err(SessionError::Invalid("cannot deactivate the last active administrator".into())));
            }
            users.set_status(&user.id, UserStatus::Deactivated.as_str(), &reason)?;
            Ok(Ok(format!("deactivated: {reason}")))
        })
    }

    /// Sets a new PIN; also clears a lockout.
    pub fn reset_pin(&self, actor: &User, id: &str, new_pin: &str) -> Result<(), SessionError> {
        let id = &id.to_ascii_lowercase();
        check_pin_shape(new_pin)?;
        let hash = hash_pin(new_pin)?;
        self.administer(actor, id, "reset PIN of", AuditAction::PinChange, move |users, user| {
            let status = if user.status == UserStatus::Locked { UserStatus::Active } else { user.status };
            users.set_pin(&user.id, &hash, status.as_str())?;
            Ok(Ok("PIN reset".to_owned()))
        })
    }

    /// Suspends every active account idle past `inactive_suspend_days` (the console runs it
    /// at start, `users list` before listing), so the administrator's list shows the state a
    /// log-on would find. Returns the ids suspended.
    pub fn suspend_inactive(&self, now: DateTime<Utc>) -> Result<Vec<String>, SessionError> {
        let rules = self.rules;
        let org = self.org();
        Ok(self.store.write(move |conn| {
            let users = UserTable::new(conn);
            let idle: Vec<String> = users
                .all(true)?
                .into_iter()
                .filter_map(|row| user_of(row).ok().map(|(user, _)| user))
                .filter(|user| rules.is_inactive(user, now))
                // Officers first, so an idle administrator is kept only when no other is active.
                .map(|user| (user.role == Role::Administrator, user.id))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|(_, id)| id)
                .collect();
            let mut suspended = Vec::new();
            for id in idle {
                if suspend_for_inactivity(users, &org, &id, now)?.is_some() {
                    suspended.push(id);
                }
            }
            Ok(suspended)
        })?)
    }

    /// Every account (administrators only).
    pub fn list(&self, actor: &User) -> Result<Vec<User>, SessionError> {
        self.authorize(actor, Permission::ManageUsers, AuditAction::Admin, "list users")?;
        Ok(self.store.read(|conn| {
            UserTable::new(conn).all(false)?.into_iter().map(|row| user_of(row).map(|(user, _)| user)).collect()
        })?)
    }
}

/// The demo accounts: (id, name, role, PIN, certification expired). Obviously fake and
/// documented; used only by the demo mode.
pub const DEMO_USERS: [(&str, &str, Role, &str, bool); 4] = [
    ("demo-officer", "DEMO Officer", Role::Officer, "111111", false),
    ("demo-supervisor", "DEMO Supervisor", Role::Supervisor, "222222", false),
    ("demo-admin", "DEMO Administrator", Role::Administrator, "333333", false),
    ("demo-expired", "DEMO Officer (certification expired)", Role::Officer, "444444", true),
];

/// Creates the demo accounts that do not exist yet (audited as `demo-seed`); returns how
/// many were created.
pub fn seed_demo_users(store: &Store) -> Result<usize, SessionError> {
    if !store.is_demo() {
        // Demo accounts have published PINs, a demo administrator among them: in a real store
        // they would hand the store to anyone.
        return Err(SessionError::Invalid(format!(
            "{} is a production store: demo accounts are only ever created in a demo store (one created \
             under the DEMO key, as `patrol-alpr --demo` creates it)",
            store.data_dir().display()
        )));
    }
    let accounts = Accounts::new(store, AccountRules::default());
    let today = Utc::now().date_naive();
    let mut created = 0;
    for (id, name, role, pin, expired) in DEMO_USERS {
        if accounts.get(id)?.is_some() {
            continue;
        }
        let (trained, until) = if expired {
            (today - chrono::Duration::days(400), today - chrono::Duration::days(30))
        } else {
            (today - chrono::Duration::days(30), today + chrono::Duration::days(335))
        };
        let new = NewUser {
            id: id.into(),
            name: name.into(),
            role,
            pin: pin.into(),
            trained_on: Some(trained),
            certified_until: Some(until),
        };
        accounts.insert("demo-seed", new, format!("DEMO account {name} created"))?;
        created += 1;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn new_user(id: &str, role: Role) -> NewUser {
        let today = Utc::now().date_naive();
        NewUser {
            id: id.into(),
            name: format!("Name {id}"),
            role,
            pin: "123456".into(),
            trained_on: Some(today - chrono::Duration::days(10)),
            certified_until: Some(today + chrono::Duration::days(100)),
        }
    }

    fn setup(store: &Store) -> (Accounts<'_>, User) {
        let accounts = Accounts::new(store, AccountRules::default());
        accounts.bootstrap_admin(new_user("admin", Role::Administrator)).unwrap();
        let admin = accounts.authenticate("admin", "123456", Utc::now()).unwrap();
        (accounts, admin)
    }

    fn outcomes(store: &Store, action: &str) -> Vec<String> {
        let action = action.to_owned();
        store
            .read(move |c| {
                let mut s = c.prepare("SELECT outcome FROM audit_log WHERE action = ?1 ORDER BY seq")?;
                Ok(s.query_map([action], |r| r.get(0))?.collect::<Result<_, _>>()?)
            })
            .unwrap()
    }

    #[test]
    fn bootstrap_only_on_empty_registry() {
        let (_dir, store) = temp_store();
        let (accounts, _) = setup(&store);
        assert!(matches!(accounts.bootstrap_admin(new_user("a2", Role::Administrator)), Err(SessionError::Invalid(_))));
        assert!(outcomes(&store, "admin")[0].starts_with("bootstrap"));
        let (_dir, store) = temp_store();
        let accounts = Accounts::new(&store, AccountRules::default());
        assert!(accounts.bootstrap_admin(new_user("o", Role::Officer)).is_err());
    }

    #[test]
    fn login_refusals_are_audited() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        let mut expired = new_user("old", Role::Officer);
        let expiry = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        expired.trained_on = NaiveDate::from_ymd_opt(2025, 1, 1);
        expired.certified_until = Some(expiry);
        accounts.create_user(&admin, expired).unwrap();
        let mut untrained = new_user("new", Role::Officer);
        untrained.trained_on = None;
        accounts.create_user(&admin, untrained).unwrap();
        let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(8, 0, 0).unwrap().and_utc();

        let err = accounts.authenticate("old", "123456", now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "log-on refused: certification expired on 2026-10-01: contact the ALPR Administrator"
        );
        assert!(matches!(
            accounts.authenticate("new", "123456", now),
            Err(SessionError::Refused(LoginRefusal::NotCertified))
        ));
        assert!(matches!(
            accounts.authenticate("ghost", "123456", now),
            Err(SessionError::Refused(LoginRefusal::UnknownUser))
        ));
        let failures = outcomes(&store, "logon_failure");
        assert_eq!(failures.len(), 3);
        assert!(failures[0].contains("certification expired on 2026-10-01"));
    }

    #[test]
    fn five_wrong_pins_lock_and_reset_pin_unlocks() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        accounts.create_user(&admin, new_user("o1", Role::Officer)).unwrap();
        for remaining in (1..5).rev() {
            let err = accounts.authenticate("o1", "999999", Utc::now()).unwrap_err();
            assert!(
                matches!(err, SessionError::Refused(LoginRefusal::WrongPin { remaining: r }) if r == remaining),
                "{err}"
            );
        }
        assert!(matches!(
            accounts.authenticate("o1", "999999", Utc::now()),
            Err(SessionError::Refused(LoginRefusal::Locked))
        ));
        // Even the right PIN is refused now.
        assert!(matches!(
            accounts.authenticate("o1", "123456", Utc::now()),
            Err(SessionError::Refused(LoginRefusal::Locked))
        ));
        assert_eq!(outcomes(&store, "lockout").len(), 1);
        accounts.reset_pin(&admin, "o1", "654321").unwrap();
        assert!(accounts.authenticate("o1", "654321", Utc::now()).is_ok());
        assert_eq!(outcomes(&store, "pin_change"), vec!["PIN reset".to_owned()]);
    }

    #[test]
    fn inactivity_suspends_and_reactivation_restores() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        accounts.create_user(&admin, new_user("o1", Role::Officer)).unwrap();
        let later = Utc::now() + chrono::Duration::days(91);
        assert!(matches!(
            accounts.authenticate("o1", "123456", later),
            Err(SessionError::Refused(LoginRefusal::Suspended(_)))
        ));
        assert_eq!(accounts.get("o1").unwrap().unwrap().status, UserStatus::Suspended);
        accounts.reactivate(&admin, "o1").unwrap();
        assert!(accounts.authenticate("o1", "123456", Utc::now()).is_ok());
    }

    #[test]
    fn inactive_accounts_are_swept_but_the_last_administrator_is_kept() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        accounts.create_user(&admin, new_user("o1", Role::Officer)).unwrap();
        accounts.create_user(&admin, new_user("s1", Role::Supervisor)).unwrap();
        assert!(accounts.suspend_inactive(Utc::now()).unwrap().is_empty(), "nobody is idle yet");
        let later = Utc::now() + chrono::Duration::days(91);
        assert_eq!(accounts.suspend_inactive(later).unwrap(), vec!["o1".to_owned(), "s1".to_owned()]);
        let o1 = accounts.get("o1").unwrap().unwrap();
        assert_eq!(o1.status, UserStatus::Suspended);
        assert!(o1.status_reason.starts_with("inactive since"), "{}", o1.status_reason);
        assert_eq!(accounts.get("admin").unwrap().unwrap().status, UserStatus::Active, "the only administrator stays");
        let outcomes = outcomes(&store, "admin");
        assert_eq!(outcomes.iter().filter(|o| o.starts_with("suspended: inactive since")).count(), 2);
        assert!(outcomes.iter().any(|o| o.contains("not suspended, the last active administrator")));
        // The idle administrator can still log on to reactivate the others.
        let admin = accounts.authenticate("admin", "123456", later).unwrap();
        accounts.reactivate(&admin, "o1").unwrap();
        assert!(accounts.authenticate("o1", "123456", Utc::now()).is_ok());
    }

    #[test]
    fn administration_needs_the_administrator_role() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        accounts.create_user(&admin, new_user("s1", Role::Supervisor)).unwrap();
        accounts.create_user(&admin, new_user("o1", Role::Officer)).unwrap();
        for actor_id in ["s1", "o1"] {
            let actor = accounts.authenticate(actor_id, "123456", Utc::now()).unwrap();
            let forbidden =
                |r: Result<(), SessionError>| assert!(matches!(r, Err(SessionError::Forbidden { .. })), "{actor_id}");
            forbidden(accounts.create_user(&actor, new_user("x", Role::Officer)));
            forbidden(accounts.certify(&actor, "o1", Utc::now().date_naive(), Utc::now().date_naive()));
            forbidden(accounts.suspend(&actor, "o1", "r"));
            forbidden(accounts.reactivate(&actor, "o1"));
            forbidden(accounts.deactivate(&actor, "o1", "r"));
            forbidden(accounts.reset_pin(&actor, "o1", "000000"));
            assert!(matches!(accounts.list(&actor), Err(SessionError::Forbidden { .. })));
        }
        let refusals = store.count_audit_rows("outcome LIKE 'refused: role%'");
        assert_eq!(refusals, 14);
    }

    #[test]
    fn lifecycle_of_an_account() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        accounts.create_user(&admin, new_user("o1", Role::Officer)).unwrap();
        assert!(matches!(accounts.create_user(&admin, new_user("o1", Role::Officer)), Err(SessionError::Exists(_))));
        let mut short = new_user("o2", Role::Officer);
        short.pin = "12".into();
        assert!(matches!(accounts.create_user(&admin, short), Err(SessionError::Invalid(_))));
        accounts.suspend(&admin, "o1", "investigation").unwrap();
        assert!(
            matches!(accounts.authenticate("o1", "123456", Utc::now()), Err(SessionError::Refused(LoginRefusal::Suspended(r))) if r == "investigation")
        );
        accounts.deactivate(&admin, "o1", "separated 2026-11-27").unwrap();
        assert!(matches!(
            accounts.authenticate("o1", "123456", Utc::now()),
            Err(SessionError::Refused(LoginRefusal::Deactivated))
        ));
        assert!(matches!(accounts.reactivate(&admin, "o1"), Err(SessionError::Invalid(_))));
        assert!(matches!(accounts.deactivate(&admin, "admin", "x"), Err(SessionError::Invalid(_))));
        assert!(matches!(accounts.suspend(&admin, "nobody", "x"), Err(SessionError::NoSuchUser(_))));
        assert_eq!(accounts.list(&admin).unwrap().len(), 2);
        let pin_hash: String =
            store.read(|c| Ok(c.query_row("SELECT pin_hash FROM users WHERE id = 'o1'", [], |r| r.get(0))?)).unwrap();
        assert!(pin_hash.starts_with("$argon2id$"), "{pin_hash}");
    }

    #[test]
    fn log_on_opens_a_shift_and_log_off_closes_it() {
        let (_dir, store) = temp_store();
        let (accounts, admin) = setup(&store);
        accounts.create_user(&admin, new_user("o1", Role::Officer)).unwrap();
        let session = accounts.log_on("o1", "123456", Utc::now()).unwrap();
        accounts.log_off(&session, Utc::now()).unwrap();
        let ended: Option<i64> = store
            .read(|c| Ok(c.query_row("SELECT end_ms FROM shifts WHERE id = ?1", [session.shift_id], |r| r.get(0))?))
            .unwrap();
        assert!(ended.is_some());
        assert_eq!(outcomes(&store, "logoff").len(), 1);
    }

    #[test]
    fn demo_users_include_an_expired_one() {
        // A production store never takes them.
        let (_real, production) = temp_store();
        let err = seed_demo_users(&production).unwrap_err().to_string();
        assert!(err.contains("production store"), "{err}");
        assert!(Accounts::new(&production, AccountRules::default()).get("demo-admin").unwrap().is_none());
        let (_dir, store) = crate::store::testing::temp_demo_store();
        assert!(store.is_demo() && !production.is_demo());
        assert_eq!(seed_demo_users(&store).unwrap(), 4);
        assert_eq!(seed_demo_users(&store).unwrap(), 0);
        let accounts = Accounts::new(&store, AccountRules::default());
        assert!(accounts.authenticate("demo-officer", "111111", Utc::now()).is_ok());
        assert!(matches!(
            accounts.authenticate("demo-expired", "444444", Utc::now()),
            Err(SessionError::Refused(LoginRefusal::CertificationExpired(_)))
        ));
    }
}
