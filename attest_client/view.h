/* SPDX-License-Identifier: BSD-3-Clause */
/* The device's own view of its launch, sent beside the evidence: what
 * efivarfs and the TPM say. The verifier trusts none of it; it compares it
 * with what the TPM signed. */
#ifndef TPA_CLIENT_VIEW_H
#define TPA_CLIENT_VIEW_H

#include "tpa/evidence.h"
#include "tpa/tpm.h"

/* Fills v: SecureBoot and SetupMode from the efivarfs directory efivars_dir
 * (a missing or malformed variable stays unknown), the TPM's manufacturer
 * and firmware version, and whether that manufacturer makes virtual TPMs.
 * A tpa_err code if the TPM cannot be asked. */
int view_collect(tpa_client_view *v, tpa_tpm *tpm, const char *efivars_dir);

#endif
