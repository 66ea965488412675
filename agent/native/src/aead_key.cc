#include "aead_key.h"

// A Node built against a shared OpenSSL may come without its headers (no libssl-dev): then the
// addon is built without AeadKey and the engine uses node:crypto (agent/wireguard/aead.ts).
#if __has_include(<openssl/evp.h>)
#define WGP2P_HAVE_OPENSSL 1
#include <openssl/evp.h>

#include <climits>
#include <cstring>

#include "bytes.h"

namespace wgp2p {

namespace {

constexpr size_t kNonceLen = 12;
// Counters are JS Numbers: exact below 2^53, far beyond any session (REJECT_AFTER_MESSAGES).
constexpr double kMaxCounter = 9007199254740991.0;

[[noreturn]] void ThrowType(Napi::Env env, const char* what) {
  throw Napi::TypeError::New(env, what);
}

// sealBatch / openBatch(keys: AeadKey[], counters: Float64Array, src: Uint8Array[],
// dst: Uint8Array[]): Uint8Array of per-item results (1 = done, 0 = failed). Keys may differ
// from item to item; items are processed in order.
Napi::Value Batch(const Napi::CallbackInfo& info, bool seal) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsTypedArray() || !info[2].IsArray() || !info[3].IsArray()) {
    ThrowType(env, "expected (keys: AeadKey[], counters: Float64Array, src: Uint8Array[], dst: Uint8Array[])");
  }
  Napi::Array keys = info[0].As<Napi::Array>();
  Napi::TypedArray ct = info[1].As<Napi::TypedArray>();
  if (ct.TypedArrayType() != napi_float64_array) ThrowType(env, "counters must be a Float64Array");
  Napi::Float64Array counters = info[1].As<Napi::Float64Array>();
  Napi::Array src = info[2].As<Napi::Array>();
  Napi::Array dst = info[3].As<Napi::Array>();
  const uint32_t n = src.Length();
  if (keys.Length() != n || dst.Length() != n || counters.ElementLength() != n) ThrowType(env, "batch arrays differ in length");
  Napi::Uint8Array results = Napi::Uint8Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value k = keys.Get(i);
    if (!k.IsObject()) ThrowType(env, "keys must be AeadKey objects");
    AeadKey* key = AeadKey::Unwrap(k.As<Napi::Object>());
    uint8_t *s, *d;
    size_t sl, dl;
    if (key == nullptr || !BytesOf(env, src.Get(i), &s, &sl) || !BytesOf(env, dst.Get(i), &d, &dl)) ThrowType(env, "bad batch item");
    results[i] = (seal ? key->Seal(counters[i], s, sl, d, dl) : key->Open(counters[i], s, sl, d, dl)) ? 1 : 0;
  }
  return results;
}

}  // namespace

void AeadKey::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "AeadKey",
                                   {InstanceMethod<&AeadKey::SealMethod>("seal"), InstanceMethod<&AeadKey::OpenMethod>("open"),
                                    InstanceMethod<&AeadKey::Destroy>("destroy")});
  exports.Set("AeadKey", cls);
  exports.Set("sealBatch", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return Batch(info, true); }, "sealBatch"));
  exports.Set("openBatch", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return Batch(info, false); }, "openBatch"));
}

AeadKey::AeadKey(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AeadKey>(info) {
  Napi::Env env = info.Env();
  uint8_t* key;
  size_t key_len;
  if (info.Length() < 2 || !BytesOf(env, info[0], &key, &key_len) || key_len != kKeyLen || !info[1].IsBoolean()) {
    ThrowType(env, "expected (key: Uint8Array of 32 bytes, encrypt: boolean)");
  }
  encrypt_ = info[1].As<Napi::Boolean>().Value();
  const int enc = encrypt_ ? 1 : 0;
  ctx_ = EVP_CIPHER_CTX_new();
  if (ctx_ == nullptr || EVP_CipherInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(kNonceLen), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx_, nullptr, nullptr, key, nullptr, enc) != 1) {
    Free();
    throw Napi::Error::New(env, "OpenSSL refused a ChaCha20-Poly1305 context");
  }
}

AeadKey::~AeadKey() { Free(); }

void AeadKey::Free() {
  // EVP_CIPHER_CTX_free cleanses the provider's context (key schedule included) before freeing.
  if (ctx_ != nullptr) EVP_CIPHER_CTX_free(ctx_);
  ctx_ = nullptr;
}

void AeadKey::Destroy(const Napi::CallbackInfo&) { Free(); }

bool AeadKey::Rekey(double counter) {
  if (ctx_ == nullptr || !(counter >= 0 && counter <= kMaxCounter)) return false;
  uint64_t c = static_cast<uint64_t>(counter);
  uint8_t nonce[kNonceLen] = {0};
  for (size_t i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(c >> (8 * i));
  // Key NULL: the key set at construction stays; only the nonce (and the AEAD state) is reset.
  return EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, encrypt_ ? 1 : 0) == 1;
}

bool AeadKey::Seal(double counter, const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_len) {
  if (!encrypt_ || dst_len < kTagLen || src_len > dst_len - kTagLen || dst_len > INT_MAX) return false;
  if (src != dst && src < dst + dst_len && dst < src + src_len) return false;  // partial overlap
  if (!Rekey(counter)) return false;
  const size_t body = dst_len - kTagLen;
  if (src != dst && src_len > 0) std::memcpy(dst, src, src_len);
  std::memset(dst + src_len, 0, body - src_len);  // WireGuard's zero padding, sealed with the packet
  int out = 0;
  if (body > 0 && EVP_CipherUpdate(ctx_, dst, &out, dst, static_cast<int>(body)) != 1) return false;
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx_, dst + out, &fin) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagLen), dst + body) == 1;
}

bool AeadKey::Open(double counter, const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_len) {
  if (encrypt_ || src_len < kTagLen || dst_len != src_len - kTagLen || src_len > INT_MAX) return false;
  if (src != dst && src < dst + dst_len && dst < src + src_len) return false;
  if (!Rekey(counter)) return false;
  uint8_t tag[kTagLen];
  std::memcpy(tag, src + dst_len, kTagLen);  // before an in-place open could touch it
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagLen), tag) != 1) return false;
  int out = 0;
  bool ok = dst_len == 0 || EVP_CipherUpdate(ctx_, dst, &out, src, static_cast<int>(dst_len)) == 1;
  int fin = 0;
  ok = ok && EVP_CipherFinal_ex(ctx_, dst + out, &fin) == 1;
  if (!ok && dst_len > 0) std::memset(dst, 0, dst_len);  // never hand out unauthenticated plaintext
  return ok;
}

Napi::Value AeadKey::SealMethod(const Napi::CallbackInfo& info) { return OneItem(info, true); }

Napi::Value AeadKey::OpenMethod(const Napi::CallbackInfo& info) { return OneItem(info, false); }

Napi::Value AeadKey::OneItem(const Napi::CallbackInfo& info, bool seal) {
  uint8_t *s, *d;
  size_t sl, dl;
  if (info.Length() < 3 || !info[0].IsNumber() || !BytesOf(info.Env(), info[1], &s, &sl) || !BytesOf(info.Env(), info[2], &d, &dl)) {
    ThrowType(info.Env(), "expected (counter: number, src: Uint8Array, dst: Uint8Array)");
  }
  const double counter = info[0].As<Napi::Number>().DoubleValue();
  return Napi::Boolean::New(info.Env(), seal ? Seal(counter, s, sl, d, dl) : Open(counter, s, sl, d, dl));
}

}  // namespace wgp2p

#else

namespace wgp2p {
void AeadKey::Init(Napi::Env, Napi::Object) {}
}  // namespace wgp2p

#endif
