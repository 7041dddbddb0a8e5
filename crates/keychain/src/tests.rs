use redress_crypto::{KdfParams, Receipt, derive_receipt_keys};
use redress_domain::{CaseRef, InvestigatorId};
use redress_store::test_support::TestDatabase;
use redress_store::{NewCase, NewReceipt};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    _db: TestDatabase,
    store: Store,
    case: CaseId,
    triage: SecretIdentity,
    recovery: SecretIdentity,
    reporter: SecretIdentity,
    case_public: PublicKey,
    thread_public: PublicKey,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let (triage, recovery) = (SecretIdentity::generate(), SecretIdentity::generate());
    let receipt = Receipt::generate();
    let reporter = derive_receipt_keys(&receipt, b"salt-salt-salt-1", &KdfParams::danger_test_minimum())
        .unwrap()
        .identity;
    let keys = NewCaseKeys::generate();
    let (case_public, thread_public) = (keys.case_public(), keys.thread_public());
    let wraps = keys
        .first_wraps(&FirstHolders {
            triage: &triage.public(),
            recovery: &recovery.public(),
            reporter: &reporter.public(),
        })
        .unwrap();
    let case = CaseId::random();
    store
        .insert_case(
            &NewCase {
                id: case,
                questionnaire_version: 1,
                received_at: 0,
                case_recipient: case_public.to_string(),
                thread_recipient: thread_public.to_string(),
                wraps,
                objects: vec![],
                receipt: NewReceipt {
                    lookup: rand::random(),
                    kdf_salt: vec![0; 16],
                    kdf_m_kib: 8,
                    kdf_t: 1,
                    kdf_p: 1,
                },
                jobs: vec![],
            },
            || CaseRef::from_random(rand::random()),
        )
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        _db: db,
        store,
        case,
        triage,
        recovery,
        reporter,
        case_public,
        thread_public,
    }
}

#[tokio::test]
async fn every_first_holder_opens_what_it_should_and_nothing_more() {
    let f = fixture().await;
    for (holder, identity) in [(Holder::Triage, &f.triage), (Holder::Recovery, &f.recovery)] {
        let case_key = open_case_key(&f.store, f.case, holder, identity).await.unwrap();
        assert_eq!(case_key.public(), f.case_public);
        let thread = open_thread_key(&f.store, f.case, &case_key).await.unwrap();
        assert_eq!(thread.public(), f.thread_public);
    }
    let thread = open_thread_as_reporter(&f.store, f.case, &f.reporter)
        .await
        .unwrap();
    assert_eq!(thread.public(), f.thread_public);

    // The reporter holds the thread key only: asking for the case key is refused before
    // any decryption, and its identity opens no case-key wrap either.
    assert!(matches!(
        open_case_key(&f.store, f.case, Holder::Reporter, &f.reporter).await,
        Err(KeychainError::WrongKey { .. })
    ));
    assert!(matches!(
        open_case_key(&f.store, f.case, Holder::Recovery, &f.reporter).await,
        Err(KeychainError::Crypto(_))
    ));
    // The wrong identity for a holder opens nothing.
    assert!(
        open_case_key(&f.store, f.case, Holder::Triage, &f.recovery)
            .await
            .is_err()
    );
    assert!(open_thread_key(&f.store, f.case, &f.triage).await.is_err());
}

#[tokio::test]
async fn a_rewrap_gives_an_investigator_the_case_and_removing_it_takes_it_away() {
    let f = fixture().await;
    let ana = SecretIdentity::generate();
    let ana_id = InvestigatorId::random();
    let holder = Holder::Investigator(ana_id);
    assert!(matches!(
        open_case_key(&f.store, f.case, holder, &ana).await,
        Err(KeychainError::NoWrap(HolderKind::Investigator))
    ));
    rewrap_case_key(
        &f.store,
        f.case,
        (Holder::Recovery, &f.recovery),
        (holder, &ana.public()),
    )
    .await
    .unwrap();
    assert_eq!(
        open_case_key(&f.store, f.case, holder, &ana)
            .await
            .unwrap()
            .public(),
        f.case_public
    );
    // Another investigator's slot is not ana's.
    assert!(
        open_case_key(
            &f.store,
            f.case,
            Holder::Investigator(InvestigatorId::random()),
            &ana
        )
        .await
        .is_err()
    );

    assert!(remove_holder(&f.store, f.case, holder).await.unwrap());
    assert!(!remove_holder(&f.store, f.case, holder).await.unwrap());
    assert!(open_case_key(&f.store, f.case, holder, &ana).await.is_err());
    // Recovery is untouched.
    assert!(
        open_case_key(&f.store, f.case, Holder::Recovery, &f.recovery)
            .await
            .is_ok()
    );
}

#[test]
fn only_case_key_holders_get_case_key_wraps() {
    let key = SecretIdentity::generate();
    let to = SecretIdentity::generate().public();
    assert!(wrap_case_key(&key, Holder::Reporter, &to).is_err());
    assert!(wrap_case_key(&key, Holder::CaseKey, &to).is_err());
    let w = wrap_case_key(&key, Holder::Recovery, &to).unwrap();
    assert_eq!(w.holder_recipient, to.to_string());
}

#[tokio::test]
async fn the_thread_key_wrap_as_stored_opens_with_the_case_key_alone() {
    let f = fixture().await;
    let wrap = thread_key_wrap(&f.store, f.case).await.unwrap();
    let case_key = open_case_key(&f.store, f.case, Holder::Recovery, &f.recovery)
        .await
        .unwrap();
    assert_eq!(
        unwrap_identity(&wrap, &case_key).unwrap().public(),
        f.thread_public
    );
    assert!(unwrap_identity(&wrap, &f.reporter).is_err());
    let missing = thread_key_wrap(&f.store, CaseId::random()).await;
    assert!(matches!(missing, Err(KeychainError::NoWrap(HolderKind::CaseKey))));
}
