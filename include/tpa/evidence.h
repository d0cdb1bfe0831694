/* SPDX-License-Identifier: BSD-3-Clause */
/* The client's side of the wire format: packing evidence, unpacking the
 * challenge and the verdict (protobuf-c, attest.v1). Every reply is
 * untrusted and checked here. */
#ifndef TPA_EVIDENCE_H
#define TPA_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/hostinfo.h"
#include "tpa/seal.h"
#include "tpa/quote.h"
#include "tpa/tpm.h"

#define TPA_RPC_GET_CHALLENGE "/attest.v1.Verifier/GetChallenge"
#define TPA_RPC_ATTEST        "/attest.v1.Verifier/Attest"
#define TPA_RPC_GET_KEYS      "/attest.v1.Verifier/GetVerificationKeys"
#define TPA_RPC_COMPLIANCE    "/attest.v1.Verifier/GetDeviceCompliance"
#define TPA_RPC_ENROLL        "/attest.v1.Verifier/Enroll"
#define TPA_RPC_ACTIVATE      "/attest.v1.Verifier/Activate"
#define TPA_DEVICE_HINT_MAX   128
#define TPA_NONCE_MIN         16
#define TPA_NONCE_MAX         64
#define TPA_CLIENT_ID_MAX     256   /* a sealed id is opaque to the client: lower-case
				     * hex of at most this many characters */

/* A challenge as the client received it. */
typedef struct {
	char id[TPA_CLIENT_ID_MAX + 1];
	uint8_t nonce[TPA_NONCE_MAX];
	size_t nonce_len;
	int64_t expires_at_unix;
	uint32_t valid_for_ms;
} tpa_client_challenge;

/* rp: a relying party's nonce to bind into the quote (TPA_RP_NONCE_MIN..MAX
 * bytes), or NULL. */
int tpa_challenge_request_pack(uint8_t **out, size_t *len, const char *hint, const uint8_t *rp,
			       size_t rp_len);
int tpa_challenge_unpack(tpa_client_challenge *out, const uint8_t *b, size_t n);

/* The device's own view of its launch (untrusted by the verifier). */
typedef enum { TPA_TRI_UNKNOWN = 0, TPA_TRI_ON = 1, TPA_TRI_OFF = 2 } tpa_tristate;

typedef struct {
	tpa_tristate secure_boot;
	tpa_tristate setup_mode;
	char tpm_manufacturer[5];
	uint64_t tpm_firmware_version;
	int virtual_tpm;
} tpa_client_view;

/* Whether a TPM manufacturer id names a virtual TPM (swtpm/libtpms "IBM",
 * Microsoft "MSFT", Google "GOOG", Amazon "AMZN", QEMU-style "QEMU"). */
int tpa_manufacturer_is_virtual(const char *manufacturer);

/* Optional parts of the evidence. */
typedef struct {
	const uint8_t *event_log;     /* or NULL */
	size_t event_log_len;
	const tpa_client_view *view;  /* or NULL */
	const char *hint;             /* or NULL */
	const uint8_t *rp_nonce;      /* the relying party's nonce given to */
	size_t rp_nonce_len;          /* GetChallenge, or NULL */
	const tpa_tpm_certify_result *bound_key; /* a key to bind, or NULL */
	const tpa_host_info *host;    /* what names the host (reported), or NULL */
} tpa_attest_extras;

int tpa_attest_request_pack(uint8_t **out, size_t *len, const char *challenge_id,
			    const tpa_tpm_quote_result *q, const uint8_t *ak_public,
			    size_t ak_public_len, const tpa_pcr_set *pcrs,
			    const tpa_attest_extras *extras);

#define TPA_VERDICT_RULES_MAX 32
#define TPA_VERDICT_HYGIENE_MAX 8      /* Secure Boot hygiene claims in one verdict */
#define TPA_VERDICT_EXPECTED_MAX 20000 /* values one rule may list as expected */

typedef struct {
	int compliant;
	tpa_findings findings;
	char ak_name[2 * 66 + 1];
	char *token;               /* malloc'd */
	int measured_boot;         /* the log replayed to the quote */
	char secure_boot[16];      /* "enabled", "disabled", "unknown", "unverified" */
	char secure_boot_reason[TPA_CHECK_DETAIL_MAX];
	uint32_t events;
	char firmware_version[128];
	char kernel_cmdline[1024];
	int uefi_debug_mode;
	size_t nhygiene;           /* Secure Boot hygiene: name, value, why */
	struct {
		char name[32];
		char value[128];
		char reason[200];
	} hygiene[TPA_VERDICT_HYGIENE_MAX];
	int warning;               /* compliant, but warning rules failed */
	char outcome[16];          /* the appraisal: "compliant", "warning", ... */
	char baseline[80];         /* its name, "" without one */
	uint32_t baseline_version;
	size_t nrules;
	struct {
		char rule[24];
		char severity[12];
		char status[8];    /* "pass", "fail", "n/a" */
		int32_t event, pcr;
		char detail[320];
		char *seen;        /* what the events held, malloc'd; NULL if unsaid */
		char **expected;   /* what the baseline allows, malloc'd */
		size_t nexpected;
	} rules[TPA_VERDICT_RULES_MAX];
} tpa_verdict_reply;

int tpa_verdict_reply_unpack(tpa_verdict_reply *out, const uint8_t *b, size_t n);

/* Enrollment messages, client side. Replies are bounded and checked. */
#define TPA_ENROLL_INTERMEDIATES_MAX 4  /* EK CA certificates in one request */
/* The EK and AK of an enrollment, sent to Enroll and again to Activate. */
typedef struct {
	const uint8_t *ek_public;
	size_t ek_public_len;
	const uint8_t *ek_cert;
	size_t ek_cert_len;
	const uint8_t *ak_public;
	size_t ak_public_len;
	const char *ek_cert_source;   /* "nv", "file", or NULL: unsaid */
	const tpa_host_info *host;    /* what names the host (reported), or NULL; sent
				       * to Enroll and Activate */
} tpa_enroll_keys;

/* replace_aks: the new AK replaces the AKs the device holds (see the proto). */
int tpa_enroll_request_pack(uint8_t **out, size_t *len, const tpa_enroll_keys *keys,
			    const uint8_t *const *intermediates, const size_t *intermediate_lens,
			    size_t nintermediates, int replace_aks);

typedef struct {
	char id[TPA_CLIENT_ID_MAX + 1];
	uint8_t blob[128];             /* TPM2B_ID_OBJECT */
	size_t blob_len;
	uint8_t secret[2 + 512];       /* TPM2B_ENCRYPTED_SECRET */
	size_t secret_len;
} tpa_enrollment;

int tpa_enroll_response_unpack(tpa_enrollment *out, const uint8_t *b, size_t n);
int tpa_activate_request_pack(uint8_t **out, size_t *len, const char *enrollment_id,
			      const uint8_t *credential, size_t credential_len,
			      const tpa_enroll_keys *keys);
/* device_id and ak_name receive hex text (65 and 133 bytes at most). */
int tpa_activate_response_unpack(char *device_id, size_t id_cap, char *ak_name,
				 size_t name_cap, const uint8_t *b, size_t n);
/* The same with the number of AKs the device holds after it (0 if unsaid). */
typedef struct {
	char device_id[80];
	char ak_name[140];
	uint32_t aks;
} tpa_activation;
int tpa_activation_unpack(tpa_activation *out, const uint8_t *b, size_t n);
/* How the verifier admitted the device (admission: "open", "approved",
 * "allowlist", "" while pending; printable text), from the same reply. */
int tpa_activate_response_admission(int *pending, char *admission, size_t cap,
				    const uint8_t *b, size_t n);
void tpa_verdict_reply_clear(tpa_verdict_reply *v);

/* A relying party's calls, client side: GetVerificationKeys and
 * GetDeviceCompliance. Replies are bounded, checked and made printable. */
#define TPA_JWKS_MAX (64 * 1024)          /* bytes of a JWKS in a reply */
#define TPA_COMPLIANCE_TEXT_MAX 255       /* bytes of each text field of a
					   * compliance reply (but the token) */

int tpa_keys_request_pack(uint8_t **out, size_t *len);
/* *jwks: the JWKS text, malloc'd; a reply without one is malformed. */
int tpa_keys_response_unpack(char **jwks, const uint8_t *b, size_t n);

/* device_id: as given (the verifier judges it). */
int tpa_compliance_request_pack(uint8_t **out, size_t *len, const char *device_id);

/* The registry's answer for one device (see GetDeviceComplianceResponse). */
typedef struct {
	char device_id[TPA_COMPLIANCE_TEXT_MAX + 1];
	int compliant;
	char outcome[TPA_COMPLIANCE_TEXT_MAX + 1];  /* "" if it never attested */
	int64_t verdict_at;
	char *token;               /* malloc'd; NULL without one */
	int64_t token_expires_at;
	int expired;
	char state[TPA_COMPLIANCE_TEXT_MAX + 1];    /* "active", "revoked" */
	int revoked_since_verdict;
	char baseline[TPA_COMPLIANCE_TEXT_MAX + 1]; /* "name@version" or "" */
	char reason[TPA_COMPLIANCE_TEXT_MAX + 1];   /* why not compliant, or "" */
	int stale;                 /* overdue since due_at */
	int64_t due_at;            /* 0 if it never attested */
} tpa_compliance_reply;

/* A reply that says compliant and also why not (a reason, an expired token,
 * a device not active, revoked since or stale) is malformed. */
int tpa_compliance_response_unpack(tpa_compliance_reply *out, const uint8_t *b, size_t n);
void tpa_compliance_reply_clear(tpa_compliance_reply *r);

#endif
