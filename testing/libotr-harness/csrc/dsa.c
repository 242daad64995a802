/*
 * dsa.c -- libotr's DSA signing and verification (otrl_privkey_sign /
 * otrl_privkey_verify, which call libgcrypt's gcry_pk_sign / gcry_pk_verify)
 * on keys given as big-endian components, for differential tests of the
 * Rust DSA code against an independent implementation.
 *
 * The signed data is handed over exactly as libotr's AKE hands it: an
 * unsigned big-endian MPI ("(%m)"), which libgcrypt's DSA reduces mod q.
 * Signatures are r || s, 20 bytes each.
 */

#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

/* libotr's headers are not self-contained: proto.h must come first. */
#include <libotr/proto.h>
#include <libotr/privkey.h>
#include <libotr/userstate.h>

/* An unsigned MPI from big-endian bytes (zero for an empty string). */
static gcry_error_t mpi_of(gcry_mpi_t *out, const unsigned char *be, size_t len)
{
    if (len == 0) {
        *out = gcry_mpi_set_ui(NULL, 0);
        return *out ? 0 : gcry_error(GPG_ERR_ENOMEM);
    }
    return gcry_mpi_scan(out, GCRYMPI_FMT_USG, be, len, NULL);
}

/* The components p, q, g, y (and x when nparts is 5) as MPIs. */
static gcry_error_t mpis_of(gcry_mpi_t *mpis, int nparts,
        const unsigned char *const *parts, const size_t *lens)
{
    int i;
    gcry_error_t err = 0;
    for (i = 0; i < nparts; ++i) mpis[i] = NULL;
    for (i = 0; i < nparts && !err; ++i) {
        err = mpi_of(&mpis[i], parts[i], lens[i]);
    }
    return err;
}

static void release_mpis(gcry_mpi_t *mpis, int nparts)
{
    int i;
    for (i = 0; i < nparts; ++i) gcry_mpi_release(mpis[i]);
}

/* Verify r || s (siglen bytes: libotr insists on 40) over data under the
 * public key parts[0..4] = p, q, g, y.  Returns 0 if libgcrypt accepts the
 * signature, else the gcry error (GPG_ERR_BAD_SIGNATURE for a plain
 * mismatch). */
unsigned int harness_dsa_verify(const unsigned char *const *parts,
        const size_t *lens, const unsigned char *sig, size_t siglen,
        const unsigned char *data, size_t len)
{
    gcry_mpi_t m[4];
    gcry_sexp_t pubs = NULL;
    gcry_error_t err = mpis_of(m, 4, parts, lens);
    if (!err) {
        err = gcry_sexp_build(&pubs, NULL,
                "(public-key (dsa (p %m)(q %m)(g %m)(y %m)))",
                m[0], m[1], m[2], m[3]);
    }
    release_mpis(m, 4);
    if (!err) {
        err = otrl_privkey_verify(sig, siglen, OTRL_PUBKEY_TYPE_DSA, pubs,
                data, len);
    }
    gcry_sexp_release(pubs);
    return (unsigned int)err;
}

/* Sign data with the private key parts[0..5] = p, q, g, y, x through
 * otrl_privkey_sign (a transient OtrlPrivKey around the s-expression);
 * out gets r || s (40 bytes).  Returns 0 or the gcry error. */
unsigned int harness_dsa_sign(const unsigned char *const *parts,
        const size_t *lens, const unsigned char *data, size_t len,
        unsigned char *out)
{
    gcry_mpi_t m[5];
    OtrlPrivKey key;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    gcry_error_t err = mpis_of(m, 5, parts, lens);
    memset(&key, 0, sizeof(key));
    key.pubkey_type = OTRL_PUBKEY_TYPE_DSA;
    if (!err) {
        err = gcry_sexp_build(&key.privkey, NULL,
                "(private-key (dsa (p %m)(q %m)(g %m)(y %m)(x %m)))",
                m[0], m[1], m[2], m[3], m[4]);
    }
    release_mpis(m, 5);
    if (!err) {
        err = otrl_privkey_sign(&sig, &siglen, &key, data, len);
    }
    if (!err && siglen != 40) err = gcry_error(GPG_ERR_INV_LENGTH);
    if (!err) memcpy(out, sig, 40);
    free(sig);
    gcry_sexp_release(key.privkey);
    return (unsigned int)err;
}

/* libotr's serialized public key of (account, protocol): MPI p, q, g, y
 * as libotr writes and fingerprints them (the PUBKEY without its type).
 * Returns its length, or 0 if there is no such key; copies at most cap
 * bytes into out. */
size_t harness_us_privkey_pubkey(OtrlUserState us, const char *account,
        const char *protocol, unsigned char *out, size_t cap)
{
    OtrlPrivKey *p = otrl_privkey_find(us, account, protocol);
    if (!p) return 0;
    memcpy(out, p->pubkey_data,
            p->pubkey_datalen < cap ? p->pubkey_datalen : cap);
    return p->pubkey_datalen;
}
