/*
 * harness.c -- a thin, flat C shim over libotr 4.1.x for the Rust test
 * harness in this crate.
 *
 * One `struct harness` owns one OtrlUserState (one local account) plus an
 * ordered queue of everything libotr told the application through its
 * OtrlMessageAppOps callbacks.  Rust drains that queue with harness_pop().
 *
 * There is no global mutable state here: every callback receives the
 * handle as its opdata, and the ops table is a read-only constant.  The
 * only process-wide step is harness_global_init(), which Rust calls once.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

/* libotr's headers are not self-contained: proto.h must come first. */
#include <libotr/proto.h>
#include <libotr/context.h>
#include <libotr/instag.h>
#include <libotr/message.h>
#include <libotr/privkey.h>
#include <libotr/tlv.h>
#include <libotr/userstate.h>

#define HARNESS_PROTOCOL "irc"
#define HARNESS_SYMKEY_LEN 32

/* Event kinds; the Rust side mirrors these numbers. */
enum {
    HEV_WIRE = 1,
    HEV_MESSAGE = 2,
    HEV_GONE_SECURE = 3,
    HEV_GONE_INSECURE = 4,
    HEV_STILL_SECURE = 5,
    HEV_NEW_FINGERPRINT = 6,
    HEV_MSG_EVENT = 7,
    HEV_SMP = 8,
    HEV_SYMKEY = 9,
    HEV_TLV = 10,
    HEV_ERROR = 11
};

/* What Rust sees of one event.  All pointers stay valid until the next
 * harness_pop() or harness_free() on the same handle. */
typedef struct {
    int kind;
    int code;           /* msg/smp event, is_reply, symkey use, TLV type,
                           encrypted flag, gcry error code */
    int progress;       /* SMP progress percent */
    int has_text;       /* 1 if text is meaningful (may still be "") */
    const char *peer;
    const char *text;   /* wire data, message, question, fingerprint, ... */
    const unsigned char *bytes; /* symkey usedata / TLV payload */
    size_t bytes_len;
    const unsigned char *key;   /* symkey, HARNESS_SYMKEY_LEN bytes */
} harness_event_view;

typedef struct harness_event {
    harness_event_view view;
    char *peer;
    char *text;
    unsigned char *bytes;
    unsigned char key[HARNESS_SYMKEY_LEN];
    struct harness_event *next;
} harness_event;

struct harness {
    OtrlUserState us;
    char *account;
    char *keyfile;
    char *instagfile;
    char *fpfile;
    unsigned int policy;
    int max_message_size;
    int decrypted;              /* set by convert_msg while receiving */
    unsigned int timer_interval;
    harness_event *head;
    harness_event *tail;
    harness_event *popped;      /* owned until the next pop */
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (!p) return NULL;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

static void event_free(harness_event *ev)
{
    if (!ev) return;
    free(ev->peer);
    free(ev->text);
    free(ev->bytes);
    free(ev);
}

/* Append an event; text and bytes are copied.  Allocation failures drop
 * the event (a test will then notice the missing event). */
static harness_event *push(struct harness *h, int kind, const char *peer,
        int code, int progress, const char *text,
        const unsigned char *bytes, size_t bytes_len)
{
    harness_event *ev = calloc(1, sizeof(*ev));
    if (!ev) return NULL;
    ev->peer = strdup(peer ? peer : "");
    ev->text = dup_or_null(text);
    if (bytes_len > 0) {
        ev->bytes = malloc(bytes_len);
        if (ev->bytes) memcpy(ev->bytes, bytes, bytes_len);
    }
    if (!ev->peer || (text && !ev->text) || (bytes_len > 0 && !ev->bytes)) {
        event_free(ev);
        return NULL;
    }
    ev->view.kind = kind;
    ev->view.code = code;
    ev->view.progress = progress;
    ev->view.has_text = text != NULL;
    ev->view.peer = ev->peer;
    ev->view.text = ev->text ? ev->text : "";
    ev->view.bytes = ev->bytes;
    ev->view.bytes_len = ev->bytes ? bytes_len : 0;
    ev->view.key = NULL;
    if (h->tail) {
        h->tail->next = ev;
    } else {
        h->head = ev;
    }
    h->tail = ev;
    return ev;
}

/* Find the context the user would be talking to: the most secure child
 * instance if there is one, else the master. */
static ConnContext *best_context(struct harness *h, const char *peer)
{
    return otrl_context_find(h->us, peer, h->account, HARNESS_PROTOCOL,
            OTRL_INSTAG_BEST, 0, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* OtrlMessageAppOps callbacks                                         */

static OtrlPolicy cb_policy(void *opdata, ConnContext *context)
{
    struct harness *h = opdata;
    (void)context;
    return h->policy;
}

static void cb_create_privkey(void *opdata, const char *accountname,
        const char *protocol)
{
    struct harness *h = opdata;
    otrl_privkey_generate(h->us, h->keyfile, accountname, protocol);
}

static int cb_is_logged_in(void *opdata, const char *accountname,
        const char *protocol, const char *recipient)
{
    (void)opdata; (void)accountname; (void)protocol; (void)recipient;
    return 1;
}

static void cb_inject_message(void *opdata, const char *accountname,
        const char *protocol, const char *recipient, const char *message)
{
    struct harness *h = opdata;
    (void)accountname; (void)protocol;
    /* libotr "sends" an empty string when it swallows a message (e.g. in
     * the FINISHED state); no IM network carries that, so drop it. */
    if (!message || !*message) return;
    push(h, HEV_WIRE, recipient, 0, 0, message, NULL, 0);
}

static void cb_new_fingerprint(void *opdata, OtrlUserState us,
        const char *accountname, const char *protocol,
        const char *username, unsigned char fingerprint[20])
{
    struct harness *h = opdata;
    char human[OTRL_PRIVKEY_FPRINT_HUMAN_LEN];
    (void)us; (void)accountname; (void)protocol;
    otrl_privkey_hash_to_human(human, fingerprint);
    push(h, HEV_NEW_FINGERPRINT, username, 0, 0, human, NULL, 0);
}

static void cb_write_fingerprints(void *opdata)
{
    struct harness *h = opdata;
    otrl_privkey_write_fingerprints(h->us, h->fpfile);
}

static void cb_gone_secure(void *opdata, ConnContext *context)
{
    push(opdata, HEV_GONE_SECURE, context->username, 0, 0, NULL, NULL, 0);
}

static void cb_gone_insecure(void *opdata, ConnContext *context)
{
    push(opdata, HEV_GONE_INSECURE, context->username, 0, 0, NULL, NULL, 0);
}

static void cb_still_secure(void *opdata, ConnContext *context, int is_reply)
{
    push(opdata, HEV_STILL_SECURE, context->username, is_reply, 0, NULL,
            NULL, 0);
}

static int cb_max_message_size(void *opdata, ConnContext *context)
{
    struct harness *h = opdata;
    (void)context;
    return h->max_message_size;
}

static const char *cb_account_name(void *opdata, const char *account,
        const char *protocol)
{
    (void)opdata; (void)protocol;
    return strdup(account);
}

static void cb_account_name_free(void *opdata, const char *account_name)
{
    (void)opdata;
    free((char *)account_name);
}

static void cb_received_symkey(void *opdata, ConnContext *context,
        unsigned int use, const unsigned char *usedata, size_t usedatalen,
        const unsigned char *symkey)
{
    harness_event *ev = push(opdata, HEV_SYMKEY, context->username,
            (int)use, 0, NULL, usedata, usedatalen);
    if (ev) {
        memcpy(ev->key, symkey, HARNESS_SYMKEY_LEN);
        ev->view.key = ev->key;
    }
}

static const char *cb_otr_error_message(void *opdata, ConnContext *context,
        OtrlErrorCode err_code)
{
    (void)opdata; (void)context;
    switch (err_code) {
        case OTRL_ERRCODE_ENCRYPTION_ERROR:
            return "encryption error";
        case OTRL_ERRCODE_MSG_NOT_IN_PRIVATE:
            return "not in private";
        case OTRL_ERRCODE_MSG_UNREADABLE:
            return "unreadable";
        case OTRL_ERRCODE_MSG_MALFORMED:
            return "malformed";
        default:
            return "error";
    }
}

static void cb_otr_error_message_free(void *opdata, const char *err_msg)
{
    /* cb_otr_error_message returns string literals */
    (void)opdata; (void)err_msg;
}

static void cb_handle_smp_event(void *opdata, OtrlSMPEvent smp_event,
        ConnContext *context, unsigned short progress_percent,
        char *question)
{
    push(opdata, HEV_SMP, context->username, (int)smp_event,
            (int)progress_percent, question, NULL, 0);
}

static void cb_handle_msg_event(void *opdata, OtrlMessageEvent msg_event,
        ConnContext *context, const char *message, gcry_error_t err)
{
    const char *text = message;
    if (!text && err) {
        text = gcry_strerror(err);
    }
    push(opdata, HEV_MSG_EVENT, context ? context->username : "",
            (int)msg_event, 0, text, NULL, 0);
}

static void cb_create_instag(void *opdata, const char *accountname,
        const char *protocol)
{
    struct harness *h = opdata;
    otrl_instag_generate(h->us, h->instagfile, accountname, protocol);
}

static void cb_convert_msg(void *opdata, ConnContext *context,
        OtrlConvertType convert_type, char **dest, const char *src)
{
    struct harness *h = opdata;
    (void)context; (void)src;
    /* libotr calls this right after it decrypted a data message that it
     * is about to hand back: that is how we know a message was
     * encrypted.  We never change the text. */
    if (convert_type == OTRL_CONVERT_RECEIVING) {
        h->decrypted = 1;
    }
    *dest = NULL;
}

static void cb_convert_free(void *opdata, ConnContext *context, char *dest)
{
    (void)opdata; (void)context;
    free(dest);
}

static void cb_timer_control(void *opdata, unsigned int interval)
{
    struct harness *h = opdata;
    h->timer_interval = interval;
}

static const OtrlMessageAppOps harness_ops = {
    .policy = cb_policy,
    .create_privkey = cb_create_privkey,
    .is_logged_in = cb_is_logged_in,
    .inject_message = cb_inject_message,
    .update_context_list = NULL,
    .new_fingerprint = cb_new_fingerprint,
    .write_fingerprints = cb_write_fingerprints,
    .gone_secure = cb_gone_secure,
    .gone_insecure = cb_gone_insecure,
    .still_secure = cb_still_secure,
    .max_message_size = cb_max_message_size,
    .account_name = cb_account_name,
    .account_name_free = cb_account_name_free,
    .received_symkey = cb_received_symkey,
    .otr_error_message = cb_otr_error_message,
    .otr_error_message_free = cb_otr_error_message_free,
    .resent_msg_prefix = NULL,
    .resent_msg_prefix_free = NULL,
    .handle_smp_event = cb_handle_smp_event,
    .handle_msg_event = cb_handle_msg_event,
    .create_instag = cb_create_instag,
    .convert_msg = cb_convert_msg,
    .convert_free = cb_convert_free,
    .timer_control = cb_timer_control,
};

/* ------------------------------------------------------------------ */
/* flat API for Rust                                                   */

/* Initialise libotr (and libgcrypt).  Call once per process. */
unsigned int harness_global_init(void)
{
    return (unsigned int)otrl_init(OTRL_VERSION_MAJOR, OTRL_VERSION_MINOR,
            OTRL_VERSION_SUB);
}

/* libotr's version string. */
const char *harness_libotr_version(void)
{
    return otrl_version();
}

/* Human-readable text for a gcry_error_t. */
const char *harness_strerror(unsigned int err)
{
    return gcry_strerror((gcry_error_t)err);
}

void harness_free(struct harness *h)
{
    harness_event *ev, *next;
    if (!h) return;
    for (ev = h->head; ev; ev = next) {
        next = ev->next;
        event_free(ev);
    }
    event_free(h->popped);
    if (h->us) otrl_userstate_free(h->us);
    free(h->account);
    free(h->keyfile);
    free(h->instagfile);
    free(h->fpfile);
    free(h);
}

/* Create a handle for `account` whose files live in `dir`.  On failure
 * returns NULL and stores a static description in *what and the gcry
 * error (or 0) in *err. */
struct harness *harness_new(const char *account, const char *dir,
        unsigned int policy, const char **what, unsigned int *err)
{
    struct harness *h = calloc(1, sizeof(*h));
    FILE *f;
    gcry_error_t e;

    *what = NULL;
    *err = 0;
    if (!h) {
        *what = "out of memory";
        return NULL;
    }
    h->us = otrl_userstate_create();
    h->account = strdup(account);
    h->keyfile = join_path(dir, "otr.private_key");
    h->instagfile = join_path(dir, "otr.instance_tags");
    h->fpfile = join_path(dir, "otr.fingerprints");
    h->policy = policy;
    if (!h->us || !h->account || !h->keyfile || !h->instagfile
            || !h->fpfile) {
        *what = "out of memory";
        harness_free(h);
        return NULL;
    }

    /* private key: read it if the file exists, generate if missing */
    if ((f = fopen(h->keyfile, "r")) != NULL) {
        fclose(f);
        e = otrl_privkey_read(h->us, h->keyfile);
        if (e) {
            *what = "reading otr.private_key";
            *err = e;
            harness_free(h);
            return NULL;
        }
    }
    if (!otrl_privkey_find(h->us, account, HARNESS_PROTOCOL)) {
        e = otrl_privkey_generate(h->us, h->keyfile, account,
                HARNESS_PROTOCOL);
        if (e) {
            *what = "generating the private key";
            *err = e;
            harness_free(h);
            return NULL;
        }
    }

    /* instance tag */
    if ((f = fopen(h->instagfile, "r")) != NULL) {
        fclose(f);
        e = otrl_instag_read(h->us, h->instagfile);
        if (e) {
            *what = "reading otr.instance_tags";
            *err = e;
            harness_free(h);
            return NULL;
        }
    }
    if (!otrl_instag_find(h->us, account, HARNESS_PROTOCOL)) {
        e = otrl_instag_generate(h->us, h->instagfile, account,
                HARNESS_PROTOCOL);
        if (e) {
            *what = "generating the instance tag";
            *err = e;
            harness_free(h);
            return NULL;
        }
    }

    /* known fingerprints */
    if ((f = fopen(h->fpfile, "r")) != NULL) {
        fclose(f);
        e = otrl_privkey_read_fingerprints(h->us, h->fpfile, NULL, NULL);
        if (e) {
            *what = "reading otr.fingerprints";
            *err = e;
            harness_free(h);
            return NULL;
        }
    }
    return h;
}

/* Pop the oldest queued event into *out.  Returns 1 if there was one. */
int harness_pop(struct harness *h, harness_event_view *out)
{
    harness_event *ev = h->head;
    event_free(h->popped);
    h->popped = NULL;
    if (!ev) return 0;
    h->head = ev->next;
    if (!h->head) h->tail = NULL;
    ev->next = NULL;
    h->popped = ev;
    *out = ev->view;
    return 1;
}

/* Our fingerprint in human form into out[45].  Returns 1 on success. */
int harness_fingerprint(struct harness *h, char *out)
{
    return otrl_privkey_fingerprint(h->us, out, h->account,
            HARNESS_PROTOCOL) != NULL;
}

unsigned int harness_instance_tag(struct harness *h)
{
    OtrlInsTag *t = otrl_instag_find(h->us, h->account, HARNESS_PROTOCOL);
    return t ? t->instag : 0;
}

void harness_set_max_message_size(struct harness *h, int size)
{
    h->max_message_size = size;
}

void harness_set_policy(struct harness *h, unsigned int policy)
{
    h->policy = policy;
}

unsigned int harness_timer_interval(struct harness *h)
{
    return h->timer_interval;
}

/* Send `text` to `peer`.  Everything that goes to the network shows up
 * as HEV_WIRE events, in order; a libotr error as HEV_ERROR. */
void harness_send(struct harness *h, const char *peer, const char *text)
{
    char *out = NULL;
    gcry_error_t e = otrl_message_sending(h->us, &harness_ops, h,
            h->account, HARNESS_PROTOCOL, peer, OTRL_INSTAG_BEST, text,
            NULL, &out, OTRL_FRAGMENT_SEND_ALL, NULL, NULL, NULL);
    if (e) {
        push(h, HEV_ERROR, peer, (int)e, 0, gcry_strerror(e), NULL, 0);
    } else if (!out) {
        /* libotr left the message alone: the application sends it as is.
         * (Otherwise SEND_ALL has already injected it.) */
        if (*text) push(h, HEV_WIRE, peer, 0, 0, text, NULL, 0);
    }
    otrl_message_free(out);
}

/* Hand one network message from `peer` to libotr. */
void harness_receive(struct harness *h, const char *peer, const char *data)
{
    char *newmsg = NULL;
    OtrlTLV *tlvs = NULL, *t;
    int ignore;

    h->decrypted = 0;
    ignore = otrl_message_receiving(h->us, &harness_ops, h, h->account,
            HARNESS_PROTOCOL, peer, data, &newmsg, &tlvs, NULL, NULL, NULL);
    if (!ignore) {
        if (newmsg) {
            push(h, HEV_MESSAGE, peer, h->decrypted, 0, newmsg, NULL, 0);
        } else {
            push(h, HEV_MESSAGE, peer, 0, 0, data, NULL, 0);
        }
    }
    for (t = tlvs; t; t = t->next) {
        push(h, HEV_TLV, peer, (int)t->type, 0, NULL, t->data, t->len);
    }
    h->decrypted = 0;
    otrl_tlv_free(tlvs);
    otrl_message_free(newmsg);
}

/* Send libotr's default query message for our policy. */
void harness_start(struct harness *h, const char *peer)
{
    char *q = otrl_proto_default_query_msg(h->account, h->policy);
    if (q) {
        push(h, HEV_WIRE, peer, 0, 0, q, NULL, 0);
        free(q);
    }
}

/* End the private conversation with every instance of `peer`. */
void harness_finish(struct harness *h, const char *peer)
{
    otrl_message_disconnect_all_instances(h->us, &harness_ops, h,
            h->account, HARNESS_PROTOCOL, peer);
}

/* Message state of the best instance for `peer`; -1 if no context. */
int harness_msgstate(struct harness *h, const char *peer)
{
    ConnContext *c = best_context(h, peer);
    return c ? (int)c->msgstate : -1;
}

/* Active fingerprint of `peer` into out[45].  Returns 1 if there is one. */
int harness_their_fingerprint(struct harness *h, const char *peer, char *out)
{
    ConnContext *c = best_context(h, peer);
    if (!c || !c->active_fingerprint || !c->active_fingerprint->fingerprint)
        return 0;
    otrl_privkey_hash_to_human(out, c->active_fingerprint->fingerprint);
    return 1;
}

/* Start SMP; question may be NULL.  Returns -1 if there is no context. */
int harness_smp_start(struct harness *h, const char *peer,
        const char *question, const unsigned char *secret, size_t len)
{
    ConnContext *c = best_context(h, peer);
    if (!c) return -1;
    if (question) {
        otrl_message_initiate_smp_q(h->us, &harness_ops, h, c, question,
                secret, len);
    } else {
        otrl_message_initiate_smp(h->us, &harness_ops, h, c, secret, len);
    }
    return 0;
}

int harness_smp_respond(struct harness *h, const char *peer,
        const unsigned char *secret, size_t len)
{
    ConnContext *c = best_context(h, peer);
    if (!c) return -1;
    otrl_message_respond_smp(h->us, &harness_ops, h, c, secret, len);
    return 0;
}

int harness_smp_abort(struct harness *h, const char *peer)
{
    ConnContext *c = best_context(h, peer);
    if (!c) return -1;
    otrl_message_abort_smp(h->us, &harness_ops, h, c);
    return 0;
}

/* Run libotr's periodic cleanup (may send heartbeats). */
void harness_poll(struct harness *h)
{
    otrl_message_poll(h->us, &harness_ops, h);
}

/* Ask for the extra symmetric key and tell `peer` what it is for.
 * Returns the gcry error (0 on success), or -1 if there is no context. */
long harness_symkey(struct harness *h, const char *peer, unsigned int use,
        const unsigned char *usedata, size_t usedatalen, unsigned char *key)
{
    ConnContext *c = best_context(h, peer);
    if (!c) return -1;
    return (long)otrl_message_symkey(h->us, &harness_ops, h, c, use,
            usedata, usedatalen, key);
}

/* ------------------------------------------------------------------ */
/* identity files: a bare OtrlUserState and libotr's own file routines  */
/* (for the round-trip tests of offrecord's otr.private_key,            */
/* otr.fingerprints and otr.instance_tags)                              */

OtrlUserState harness_us_new(void)
{
    return otrl_userstate_create();
}

void harness_us_free(OtrlUserState us)
{
    if (us) otrl_userstate_free(us);
}

unsigned int harness_us_privkey_generate(OtrlUserState us, const char *path,
        const char *account, const char *protocol)
{
    return (unsigned int)otrl_privkey_generate(us, path, account, protocol);
}

unsigned int harness_us_privkey_read(OtrlUserState us, const char *path)
{
    return (unsigned int)otrl_privkey_read(us, path);
}

/* Our fingerprint for (account, protocol) in human form; -1 if no key. */
int harness_us_privkey_fingerprint(OtrlUserState us, const char *account,
        const char *protocol, char *out)
{
    return otrl_privkey_fingerprint(us, out, account, protocol) ? 0 : -1;
}

/* The n-th private key libotr holds (its list order); -1 past the end. */
int harness_us_privkey_nth(OtrlUserState us, int n, const char **account,
        const char **protocol)
{
    OtrlPrivKey *p = us->privkey_root;
    while (p && n > 0) {
        p = p->next;
        --n;
    }
    if (!p) return -1;
    *account = p->accountname;
    *protocol = p->protocol;
    return 0;
}

/* Sign `len` bytes with the key of (account, protocol): out gets r || s
 * (40 bytes).  Returns 0, or -1 if there is no such key or signing fails. */
int harness_us_privkey_sign(OtrlUserState us, const char *account,
        const char *protocol, const unsigned char *data, size_t len,
        unsigned char *out)
{
    unsigned char *sig = NULL;
    size_t siglen = 0;
    OtrlPrivKey *p = otrl_privkey_find(us, account, protocol);
    if (!p) return -1;
    if (otrl_privkey_sign(&sig, &siglen, p, data, len) || siglen != 40) {
        free(sig);
        return -1;
    }
    memcpy(out, sig, 40);
    free(sig);
    return 0;
}

unsigned int harness_us_read_fingerprints(OtrlUserState us, const char *path)
{
    return (unsigned int)otrl_privkey_read_fingerprints(us, path, NULL, NULL);
}

unsigned int harness_us_write_fingerprints(OtrlUserState us, const char *path)
{
    return (unsigned int)otrl_privkey_write_fingerprints(us, path);
}

/* Record a fingerprint of `username` for our (account, protocol) with a
 * trust text (NULL or "" = not verified), as a client does on a new
 * fingerprint and when the user verifies it. */
int harness_us_add_fingerprint(OtrlUserState us, const char *username,
        const char *account, const char *protocol,
        const unsigned char *fingerprint, const char *trust)
{
    unsigned char fp[20];
    ConnContext *context = otrl_context_find(us, username, account, protocol,
            OTRL_INSTAG_MASTER, 1, NULL, NULL, NULL);
    Fingerprint *f;
    if (!context) return -1;
    memcpy(fp, fingerprint, 20);
    f = otrl_context_find_fingerprint(context, fp, 1, NULL);
    if (!f) return -1;
    otrl_context_set_trust(f, trust);
    return 0;
}

/* The n-th fingerprint libotr holds (master contexts in list order, then
 * each context's fingerprints in order); -1 past the end.  *trust is NULL
 * when libotr holds no trust text. */
int harness_us_fingerprint_nth(OtrlUserState us, int n, const char **username,
        const char **account, const char **protocol, unsigned char *fp,
        const char **trust)
{
    ConnContext *c;
    Fingerprint *f;
    for (c = us->context_root; c; c = c->next) {
        if (c->their_instance != OTRL_INSTAG_MASTER) continue;
        for (f = c->fingerprint_root.next; f; f = f->next) {
            if (n-- > 0) continue;
            *username = c->username;
            *account = c->accountname;
            *protocol = c->protocol;
            memcpy(fp, f->fingerprint, 20);
            *trust = f->trust;
            return 0;
        }
    }
    return -1;
}

unsigned int harness_us_instag_generate(OtrlUserState us, const char *path,
        const char *account, const char *protocol)
{
    return (unsigned int)otrl_instag_generate(us, path, account, protocol);
}

unsigned int harness_us_instag_read(OtrlUserState us, const char *path)
{
    return (unsigned int)otrl_instag_read(us, path);
}

/* The instance tag of (account, protocol), or 0 if libotr has none. */
unsigned int harness_us_instag_find(OtrlUserState us, const char *account,
        const char *protocol)
{
    OtrlInsTag *t = otrl_instag_find(us, account, protocol);
    return t ? (unsigned int)t->instag : 0;
}
