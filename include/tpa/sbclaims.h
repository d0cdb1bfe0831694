/* SPDX-License-Identifier: BSD-3-Clause */
/* Secure Boot hygiene as claims (issue 18): the machine's PK, KEK, db, dbx,
 * the authorities that verified its boot applications and their digests,
 * judged against the reference bundle (tpa/sbref.h). Each claim is drawn
 * only from facts of the trusted-launch state that are verified (their
 * events on PCRs that count: quoted, in the checked bank, replayed); one
 * without such evidence is unknown, never yes or no. */
#ifndef TPA_SBCLAIMS_H
#define TPA_SBCLAIMS_H

#include <stddef.h>

#include "tpa/bootstate.h"
#include "tpa/sbref.h"

typedef enum {
	TPA_SBA_UNKNOWN = 0,   /* no evidence to say (the why says what is missing) */
	TPA_SBA_YES = 1,
	TPA_SBA_NO = 2,
} tpa_sb_answer;

const char *tpa_sb_answer_name(tpa_sb_answer t);   /* "unknown", "yes", "no" */

#define TPA_SBC_TEXT_MAX     200
#define TPA_SBC_MISSING_SHOWN 3        /* missing revocations named, newest first */

typedef struct {
	int judged;                        /* a bundle was given */
	tpa_sb_arch arch;                  /* the architecture dbx was judged for;
					    * TPA_SB_ARCH_COUNT if none */
	char arch_why[TPA_SBC_TEXT_MAX];

	/* Every revocation of the bundle for the architecture (images not
	 * marked optional, certificates, and its SVNs, or higher ones) is in
	 * dbx. */
	tpa_sb_answer dbx_current;
	size_t dbx_required, dbx_missing;
	char dbx_missing_named[TPA_SBC_MISSING_SHOWN][TPA_SBC_TEXT_MAX];
	size_t dbx_missing_nnamed;
	char dbx_why[TPA_SBC_TEXT_MAX];

	/* The 2023 Microsoft CAs in place: a 2023 KEK CA in KEK, and each
	 * 2011 CA of KEK and db accompanied by its 2023 successor. */
	tpa_sb_answer ca_2023_ready;
	char ca_2023_why[TPA_SBC_TEXT_MAX];
	/* The known CAs of KEK and db are all of 2011 (at least one). */
	tpa_sb_answer ca_2011_only;
	char ca_2011_why[TPA_SBC_TEXT_MAX];

	/* The platform key is a vendor's test key (by its subject). */
	tpa_sb_answer test_platform_key;
	char pk_subject[TPA_EFI_SUBJECT_MAX];
	char test_pk_why[TPA_SBC_TEXT_MAX];

	/* A boot application whose Authenticode SHA-256 the bundle revokes
	 * (on any architecture), or an authority that verified one is a
	 * revoked certificate, even if the machine's own dbx lacks it. */
	tpa_sb_answer revoked_component_booted;
	char revoked_why[TPA_SBC_TEXT_MAX];

	/* shim's SBAT revocation level (its SbatLevel), "" if unknown. */
	char sbat_level[TPA_SBAT_MAX];
	char sbat_why[TPA_SBC_TEXT_MAX];
	/* shim validates what it loads (MokSBState 0); no: MokSBState 1. */
	tpa_sb_answer mok_validation;
	char mok_why[TPA_SBC_TEXT_MAX];
	/* The MOK lists shim measured: name and digest (the evidence bank's). */
	size_t nmok;
	struct {
		const char *name;            /* "MokList", "MokListX", "MokListTrusted" */
		char digest[2 * TPA_DIGEST_MAX + 1];
	} mok[TPA_MOK_LISTS];
} tpa_sb_claims;

/* The five answers in one order (tpa.secureboot's members): */
enum { TPA_SBC_DBX_CURRENT, TPA_SBC_CA_2023_READY, TPA_SBC_CA_2011_ONLY,
       TPA_SBC_TEST_PLATFORM_KEY, TPA_SBC_REVOKED_COMPONENT_BOOTED, TPA_SBC_COUNT };
extern const char *const tpa_sb_claim_names[TPA_SBC_COUNT]; /* "dbx_current", ... */

/* Judges st against ref. NULL ref: nothing judged (judged 0, all unknown).
 * Never fails: what cannot be told is unknown, with its why. */
void tpa_sb_claims_derive(tpa_sb_claims *out, const tpa_bootstate *st, const tpa_sbref *ref);

#endif
