// ChaCha20-Poly1305 for WireGuard's transport messages (RFC 7539 AEAD; nonce = 4 zero bytes then
// the 64-bit little-endian counter; no associated data; 16-byte tag) with one OpenSSL context per
// key: the key is set once and each packet only re-initialises the nonce, where node:crypto's
// createCipheriv builds and keys a fresh context per packet. OpenSSL is the copy Node links and
// exports, so nothing is linked in here.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace wgp2p {

class AeadKey : public Napi::ObjectWrap<AeadKey> {
 public:
  static constexpr size_t kKeyLen = 32;
  static constexpr size_t kTagLen = 16;

  // Adds AeadKey, sealBatch and openBatch to `exports`.
  static void Init(Napi::Env env, Napi::Object exports);

  // new AeadKey(key: Uint8Array(32), encrypt: boolean). The caller's key bytes are not kept.
  explicit AeadKey(const Napi::CallbackInfo& info);
  ~AeadKey() override;

  // Seals src, zero-padded to dst.length - 16, into dst (tag last). src and dst may overlap
  // only if they start at the same byte. False when the key was destroyed or is for opening.
  bool Seal(double counter, const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_len);
  // Opens src (ciphertext then tag) into dst (src_len - 16 bytes). False, with dst zeroed, for
  // a wrong tag, a short input, a destroyed key or one for sealing.
  bool Open(double counter, const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_len);

 private:
  // seal(counter: number, src: Uint8Array, dst: Uint8Array): boolean
  Napi::Value SealMethod(const Napi::CallbackInfo& info);
  // open(counter: number, src: Uint8Array, dst: Uint8Array): boolean
  Napi::Value OpenMethod(const Napi::CallbackInfo& info);
  // destroy(): frees the context, which wipes the key schedule. Idempotent.
  void Destroy(const Napi::CallbackInfo& info);
  Napi::Value OneItem(const Napi::CallbackInfo& info, bool seal);
  bool Rekey(double counter);
  void Free();

  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool encrypt_ = false;
};

}  // namespace wgp2p
