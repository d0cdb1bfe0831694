/* SPDX-License-Identifier: BSD-3-Clause */
/* The Secure Boot reference bundle: what the verifier knows of the world's
 * Secure Boot keys and revocations, to judge a machine's PK, KEK, db and dbx
 * against (issue 18). Built by `verifier secureboot-ref build` from
 * Microsoft's published dbx list (secureboot_objects'
 * dbx_info_msft_latest.json) and the Microsoft KEK, db and PK certificates;
 * read back with every field checked, like a baseline: it is untrusted
 * input, versioned and size-capped, and an unknown field is an error. */
#ifndef TPA_SBREF_H
#define TPA_SBREF_H

#include <stddef.h>
#include <stdint.h>

#define TPA_SBREF_FORMAT       "tpa-secureboot-ref"
#define TPA_SBREF_VERSION      1
#define TPA_SBREF_BYTES_MAX    (4u << 20)  /* a bundle file, and the list it is built from */
#define TPA_SBREF_IMAGES_MAX   16384       /* revoked images per architecture */
#define TPA_SBREF_ENTRIES_MAX  256         /* certificates, SVNs, CAs, subjects, each */
#define TPA_SBREF_TEXT_MAX     512         /* the source */
#define TPA_SBREF_DESC_MAX     192         /* a revocation's description */
#define TPA_SBREF_NAME_MAX     96          /* a file or certificate name */

typedef enum {
	TPA_SB_ARCH_X64,
	TPA_SB_ARCH_IA32,
	TPA_SB_ARCH_AARCH64,
	TPA_SB_ARCH_ARM,
	TPA_SB_ARCH_COUNT
} tpa_sb_arch;

typedef enum {
	TPA_SB_STORE_PK,
	TPA_SB_STORE_KEK,
	TPA_SB_STORE_DB,
} tpa_sb_store;

/* A boot application whose Authenticode SHA-256 Microsoft revokes. */
typedef struct {
	uint8_t sha256[32];
	char file[TPA_SBREF_NAME_MAX];        /* "shim.efi", "" if unnamed */
	char added[11];                       /* YYYY-MM-DD the revocation was published */
	int optional;                         /* Microsoft marks it optional to apply */
	char authority[TPA_SBREF_NAME_MAX];   /* the CA that signed it, "" if unsaid */
	char description[TPA_SBREF_DESC_MAX]; /* CVEs, often "" */
	uint32_t slot;                        /* its hash's slot (tpa_sbref_slot) */
} tpa_sbref_image;

/* A revoked signing certificate (in dbx as an X.509 entry). */
typedef struct {
	uint8_t sha256[32];                   /* of its DER */
	char name[TPA_SBREF_NAME_MAX];        /* its subject CN */
	char added[11];
} tpa_sbref_cert;

/* A security version number entry of dbx (a SHA-256-typed entry whose
 * bytes are a GUID and a version, not a hash). */
typedef struct {
	uint8_t value[32];
	char file[TPA_SBREF_NAME_MAX];        /* "bootmgfw.efi" */
	char version[16];                     /* "9.0" */
} tpa_sbref_svn;

/* A known CA certificate: the 2011 and 2023 Microsoft KEK and db CAs, PKs. */
typedef struct {
	uint8_t sha256[32];
	char name[TPA_SBREF_NAME_MAX];        /* its subject CN */
	tpa_sb_store store;                   /* where it belongs */
	int generation;                       /* 2011, 2023: the year it was issued */
	int revoked;                          /* also among the revoked certificates */
	int has_successor;                    /* a CA of the bundle takes its place: */
	uint8_t successor[32];                /* its sha256 (the 2023 CA of a 2011 one) */
} tpa_sbref_ca;

typedef struct tpa_sbref {
	char source[TPA_SBREF_TEXT_MAX];      /* where the data came from */
	char date[11];                        /* the source's date, YYYY-MM-DD */
	int64_t date_unix;
	tpa_sbref_image *images[TPA_SB_ARCH_COUNT];  /* each sorted by sha256 */
	size_t nimages[TPA_SB_ARCH_COUNT];
	tpa_sbref_cert *certs;                /* sorted by sha256 */
	size_t ncerts;
	tpa_sbref_svn *svns;
	size_t nsvns;
	tpa_sbref_ca *cas;                    /* sorted by sha256 */
	size_t ncas;
	char (*test_subjects)[TPA_SBREF_NAME_MAX];
	size_t ntest_subjects;
	/* Every revoked image hash of every architecture, once, in an open
	 * addressing table: a dbx is judged by one lookup per entry. */
	struct tpa_sbref_slot { uint8_t sha256[32]; uint8_t archs; uint8_t used; } *slots;
	size_t nslots;                        /* a power of two, over twice the hashes */
} tpa_sbref;

/* "x64", "ia32", "aarch64", "arm"; TPA_SB_ARCH_COUNT if name is none. */
const char *tpa_sb_arch_name(tpa_sb_arch a);
tpa_sb_arch tpa_sb_arch_from_name(const char *name);
const char *tpa_sb_store_name(tpa_sb_store s);   /* "PK", "KEK", "db" */

/* Parses and validates a bundle (n bytes). TPA_ERR_PARSE naming the field
 * that is wrong; TPA_ERR_LIMIT over a cap. A revoked image costs about 420
 * bytes of memory: a bundle at its byte cap holds at most some 44 000 (each
 * at least 95 bytes of JSON), under 20 MiB. */
int tpa_sbref_parse(tpa_sbref **out, const uint8_t *b, size_t n);
/* The same from a file (at most TPA_SBREF_BYTES_MAX bytes). */
int tpa_sbref_load(tpa_sbref **out, const char *path);
void tpa_sbref_free(tpa_sbref *r);

/* Lookups, by binary search: NULL if absent. */
const tpa_sbref_image *tpa_sbref_image_revoked(const tpa_sbref *r, tpa_sb_arch a,
					       const uint8_t sha256[32]);
const tpa_sbref_cert *tpa_sbref_cert_revoked(const tpa_sbref *r, const uint8_t sha256[32]);
const tpa_sbref_ca *tpa_sbref_ca_find(const tpa_sbref *r, const uint8_t sha256[32]);
/* The slot of a revoked image hash (its archs: bit a for each architecture
 * that revokes it), or -1 if no architecture does. */
long tpa_sbref_slot(const tpa_sbref *r, const uint8_t sha256[32]);
/* Whether a certificate subject names a test key ("DO NOT TRUST - AMI Test
 * PK"): one of the bundle's subjects in it, case ignored. */
int tpa_sbref_test_subject(const tpa_sbref *r, const char *subject);

/* One certificate file given to the builder: its file name says its store
 * ("pk-", "kek-" or "db-" first). */
typedef struct {
	const char *name;
	const uint8_t *der;
	size_t len;
} tpa_sbref_certfile;

/* Builds a bundle's JSON (*out, malloc'd, NUL-terminated) from Microsoft's
 * dbx_info JSON (n bytes) and the certificate files: each a known CA, and
 * the revoked ones of the list found among them by file name, their SHA-1
 * thumbprints checked. Each 2011 Microsoft CA given with its 2023 successor
 * names it (KEK CA 2011: KEK 2K CA 2023; UEFI CA 2011: UEFI CA 2023;
 * Windows Production PCA 2011: Windows UEFI CA 2023). source and date (YYYY-MM-DD) are the data's. */
int tpa_sbref_build(char **out, const uint8_t *msft, size_t n, const tpa_sbref_certfile *certs,
		    size_t ncerts, const char *source, const char *date);

#endif
