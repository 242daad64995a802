/* Throwaway generator (not committed): runs a libotr AKE between two in-memory contexts and
 * prints the four AKE messages, for use as wire test vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gcrypt.h>
#include <libotr/proto.h>
#include <libotr/userstate.h>
#include <libotr/context.h>
#include <libotr/privkey.h>
#include <libotr/auth.h>
static gcry_error_t ok(const OtrlAuthInfo *a, void *d) { (void)a; (void)d; return 0; }
int main(int argc, char **argv) {
  int ver = atoi(argv[1]);
  OTRL_INIT;
  OtrlUserState us = otrl_userstate_create();
  if (otrl_privkey_read(us, "/tmp/akegen/keys")) {
    otrl_privkey_generate(us, "/tmp/akegen/keys", "alice", "prpl");
    otrl_privkey_generate(us, "/tmp/akegen/keys", "bob", "prpl");
  }
  OtrlPrivKey *ka = otrl_privkey_find(us, "alice", "prpl");
  OtrlPrivKey *kb = otrl_privkey_find(us, "bob", "prpl");
  ConnContext *ca = otrl_context_find(us, "bob", "alice", "prpl", OTRL_INSTAG_MASTER, 1, NULL, NULL, NULL);
  ConnContext *cb = otrl_context_find(us, "alice", "bob", "prpl", OTRL_INSTAG_MASTER, 1, NULL, NULL, NULL);
  ca->our_instance = 0x1234abcd; ca->their_instance = 0;
  cb->our_instance = 0x00000100; cb->their_instance = 0x1234abcd;
  int have = 0; gcry_error_t e;
  e = otrl_auth_start_v23(&ca->auth, ver); printf("%s\n", ca->auth.lastauthmsg); if (e) return 1;
  e = otrl_auth_handle_commit(&cb->auth, ca->auth.lastauthmsg, ver); printf("%s\n", cb->auth.lastauthmsg); if (e) return 2;
  ca->their_instance = 0x100;
  e = otrl_auth_handle_key(&ca->auth, cb->auth.lastauthmsg, &have, ka); printf("%s\n", ca->auth.lastauthmsg); if (e) return 3;
  char *revealsig = strdup(ca->auth.lastauthmsg);
  e = otrl_auth_handle_revealsig(&cb->auth, ca->auth.lastauthmsg, &have, kb, ok, NULL); printf("%s\n", cb->auth.lastauthmsg); if (e) return 4;
  e = otrl_auth_handle_signature(&ca->auth, cb->auth.lastauthmsg, &have, ok, NULL); if (e) return 5;
  {
    char **frags = NULL; const char *m = revealsig;
    ca->protocol_version = ver;
    /* fragment our own (last sent) reveal-sig message into 200-char pieces */
    int mms = 200; size_t len = strlen(m); int pieces = 0;
    int overhead = ver == 3 ? 45 : 19;  /* header + trailing comma */
    pieces = (int)((len + (mms - overhead) - 1) / (mms - overhead));
    if (otrl_proto_fragment_create(mms, pieces, &frags, ca, m)) return 6;
    for (int i = 0; i < pieces; i++) fprintf(stderr, "%s\n", frags[i]);
  }
  fprintf(stderr, "ake ok, authstate %d\n", ca->auth.authstate);
  return 0;
}
