/* SPDX-License-Identifier: BSD-3-Clause */
/* The TCG PC Client measured-boot event log: parsing (legacy SHA1 format and
 * crypto-agile format), replay per bank, and comparison with quoted PCRs.
 * Every byte of a log is untrusted. */
#ifndef TPA_EVENTLOG_H
#define TPA_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/findings.h"
#include "tpa/pcr.h"

#define TPA_EVLOG_MAX_BYTES   (16u << 20) /* a whole log */
#define TPA_EVLOG_MAX_EVENTS  100000u
#define TPA_EVLOG_MAX_DATA    (1u << 20)  /* one event's data */
#define TPA_EVLOG_MAX_ALGS    8u          /* algorithms a Spec ID may declare */
#define TPA_EVLOG_PCRS        24u

/* Event types (TCG PC Client Platform Firmware Profile). */
#define TPA_EV_PREBOOT_CERT            0x00000000u
#define TPA_EV_POST_CODE               0x00000001u
#define TPA_EV_NO_ACTION               0x00000003u
#define TPA_EV_SEPARATOR               0x00000004u
#define TPA_EV_ACTION                  0x00000005u
#define TPA_EV_EVENT_TAG               0x00000006u
#define TPA_EV_S_CRTM_CONTENTS         0x00000007u
#define TPA_EV_S_CRTM_VERSION          0x00000008u
#define TPA_EV_CPU_MICROCODE           0x00000009u
#define TPA_EV_PLATFORM_CONFIG_FLAGS   0x0000000Au
#define TPA_EV_TABLE_OF_DEVICES        0x0000000Bu
#define TPA_EV_COMPACT_HASH            0x0000000Cu
#define TPA_EV_IPL                     0x0000000Du
#define TPA_EV_IPL_PARTITION_DATA      0x0000000Eu
#define TPA_EV_NONHOST_CODE            0x0000000Fu
#define TPA_EV_NONHOST_CONFIG          0x00000010u
#define TPA_EV_NONHOST_INFO            0x00000011u
#define TPA_EV_OMIT_BOOT_DEVICE_EVENTS 0x00000012u
#define TPA_EV_EFI_EVENT_BASE          0x80000000u
#define TPA_EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define TPA_EV_EFI_VARIABLE_BOOT       0x80000002u
#define TPA_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define TPA_EV_EFI_BOOT_SERVICES_DRIVER 0x80000004u
#define TPA_EV_EFI_RUNTIME_SERVICES_DRIVER 0x80000005u
#define TPA_EV_EFI_GPT_EVENT           0x80000006u
#define TPA_EV_EFI_ACTION              0x80000007u
#define TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB 0x80000008u
#define TPA_EV_EFI_HANDOFF_TABLES      0x80000009u
#define TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2 0x8000000Au
#define TPA_EV_EFI_HANDOFF_TABLES2     0x8000000Bu
#define TPA_EV_EFI_VARIABLE_BOOT2      0x8000000Cu
#define TPA_EV_EFI_HCRTM_EVENT         0x80000010u
#define TPA_EV_EFI_VARIABLE_AUTHORITY  0x800000E0u
#define TPA_EV_EFI_SPDM_FIRMWARE_BLOB  0x800000E1u
#define TPA_EV_EFI_SPDM_FIRMWARE_CONFIG 0x800000E2u

/* A name for an event type ("EV_SEPARATOR"), or NULL if unknown. */
const char *tpa_event_type_name(uint32_t type);
/* The type of a name tpa_event_type_name gives: 0, or TPA_ERR_NOT_FOUND. */
int tpa_event_type_from_name(uint32_t *out, const char *name);

typedef enum {
	TPA_EVLOG_SHA1 = 1,          /* TCG_PCClientPCREvent records only */
	TPA_EVLOG_CRYPTO_AGILE = 2,  /* Spec ID Event03, then TCG_PCR_EVENT2 */
} tpa_evlog_format;

typedef struct {
	uint16_t alg;                /* TPM_ALG_ID */
	uint16_t size;               /* digest size (from the Spec ID) */
	const uint8_t *digest;       /* points into the log */
} tpa_event_digest;

/* One event. Pointers point into the log's own copy of the bytes. */
typedef struct {
	uint32_t number;             /* 0-based position in the log */
	size_t offset;               /* byte offset of the record */
	uint32_t pcr;                /* as logged: untrusted, may be 0xFFFFFFFF */
	uint32_t type;
	uint32_t ndigests;
	tpa_event_digest digests[TPA_EVLOG_MAX_ALGS];
	const uint8_t *data;
	uint32_t data_len;
} tpa_event;

typedef struct tpa_eventlog tpa_eventlog;

/* Reads a log file whole (at most TPA_EVLOG_MAX_BYTES); *out is malloc'd. */
int tpa_eventlog_read_file(uint8_t **out, size_t *len, const char *path);

/* Parses a whole log (copied). A malformed log is TPA_ERR_PARSE (or
 * TPA_ERR_LIMIT beyond a cap) with "offset N: reason" in tpa_err_last(). */
int tpa_eventlog_parse(tpa_eventlog **out, const uint8_t *b, size_t n);
void tpa_eventlog_free(tpa_eventlog *log);

tpa_evlog_format tpa_eventlog_format(const tpa_eventlog *log);
size_t tpa_eventlog_count(const tpa_eventlog *log);
const tpa_event *tpa_eventlog_event(const tpa_eventlog *log, size_t i);
/* The banks the log records, in Spec ID order (SHA1 for the legacy format):
 * algorithm ids into algs (at most cap); returns how many. */
size_t tpa_eventlog_banks(const tpa_eventlog *log, uint16_t *algs, size_t cap);

/* How strong a hash algorithm is, for choosing between banks: sha1 1,
 * sm3_256 2, sha256 3, sha384 4, sha512 5; 0 for one the library cannot
 * compute. */
int tpa_hash_strength(uint16_t alg);
/* The strongest bank the log declares that the library can replay (0 if
 * none): the bank whose digests are evidence. */
uint16_t tpa_eventlog_strongest_bank(const tpa_eventlog *log);

/* Replayed PCR values of one bank. */
typedef struct {
	uint16_t alg;
	uint32_t extended;                   /* bit i: PCR i had an event */
	uint32_t incomplete;                 /* bit i: an event on PCR i lacks
					      * this bank's digest */
	uint8_t value[TPA_EVLOG_PCRS][TPA_DIGEST_MAX];
	int32_t last_event[TPA_EVLOG_PCRS];  /* number of the last event, -1 */
} tpa_replay_bank;

typedef struct {
	uint32_t nbanks;
	tpa_replay_bank banks[TPA_EVLOG_MAX_ALGS];
	int startup_locality;                /* -1 if no StartupLocality event */
	int hcrtm;                           /* an EV_EFI_HCRTM_EVENT was seen */
} tpa_replay;

/* Replays every bank the log records with a known hash: PCRs 0-16 and 23
 * start at zero (PCR 0 at 00..0N after StartupLocality N, 00..04 with an
 * H-CRTM event), 17-22 at all-FF; EV_NO_ACTION never extends; an event on a
 * PCR outside 0..23 is an error. */
int tpa_eventlog_replay(tpa_replay *out, const tpa_eventlog *log);
/* The same for the listed banks only (those a quote covers); algs NULL
 * means every bank. */
int tpa_eventlog_replay_banks(tpa_replay *out, const tpa_eventlog *log,
			      const uint16_t *algs, size_t nalgs);

/* The replayed bank of an algorithm, or NULL. */
const tpa_replay_bank *tpa_replay_bank_get(const tpa_replay *r, uint16_t alg);

/* Compares the replay with quoted PCR values: every quoted PCR of every
 * quoted bank (but those in ignore_mask, e.g. 1 << 10 for IMA) must equal its
 * replayed value, which for a PCR the log has no event for is its initial
 * value: a quoted PCR with no events must still hold its reset value.
 * Adds one "eventlog.replay" finding naming the first mismatch (the bank,
 * the PCR and the last event on it) and how many failed. *matched (may be
 * NULL) receives the PCRs of bank `bank` that replayed. 0 when every quoted
 * PCR replayed, TPA_ERR_VERIFY when one did not. */
int tpa_eventlog_compare(tpa_findings *f, const tpa_replay *r, const tpa_pcr_set *quoted,
			 uint32_t ignore_mask, uint16_t bank, tpa_pcr_mask *matched);

#endif
