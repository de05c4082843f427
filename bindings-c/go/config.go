package veritoken

import "encoding/json"

// Config is the verifier configuration: the schema every veritoken language shares
// (see the README, "Configuration"). Zero values mean "the engine's default"; every default
// and every rule lives in the engine, which refuses an invalid Config with config_invalid.
// NewFromJSON and NewFromFile take the same schema as text.
type Config struct {
	// The trusted issuers; a token is checked against the one its "iss" names.
	Issuers []IssuerConfig `json:"issuers"`
	// Clock skew tolerated on exp, nbf, iat and max_age, in seconds. Default 0.
	Leeway uint64 `json:"leeway,omitempty"`
	// Longest token accepted, in bytes. Default 16384.
	MaxTokenSize uint64 `json:"max_token_size,omitempty"`
	// Where Middleware looks for the token, in order. Default: Authorization: Bearer.
	TokenSources []TokenSource `json:"token_sources,omitempty"`
	// DPoP (RFC 9449) sender-constrained tokens; nil for the default (disabled).
	DPoP *DPoPConfig `json:"dpop,omitempty"`
	// The verified-token cache; nil for the default (off).
	Cache *CacheConfig `json:"cache,omitempty"`
}

// CacheConfig is the opt-in verified-token cache: a repeated token skips the signature
// check; its time claims are judged again at every hit.
type CacheConfig struct {
	// Verified tokens kept at most (0: no cache).
	MaxEntries uint64 `json:"max_entries,omitempty"`
}

// DPoPConfig is how DPoP proofs are checked. Zero fields take the engine's defaults.
type DPoPConfig struct {
	// "disabled" (default), "allowed" or "required".
	Mode string `json:"mode,omitempty"`
	// Proof algorithms; nil for every asymmetric one, RFC 9864's Ed25519 and
	// ESP256/384/512 included.
	Algorithms []string `json:"algorithms,omitempty"`
	// Seconds a proof stays acceptable after its iat (default 300).
	MaxAge          uint64 `json:"max_age,omitempty"`
	ReplayCacheSize uint64 `json:"replay_cache_size,omitempty"`
	// Require server nonces (DPoP-Nonce, use_dpop_nonce).
	Nonce          bool   `json:"nonce,omitempty"`
	NonceLifetime  uint64 `json:"nonce_lifetime,omitempty"`
	NonceSecret    string `json:"nonce_secret,omitempty"`
	NonceSecretEnv string `json:"nonce_secret_env,omitempty"`
	// Where proof ids are remembered; "redis" shares them across processes (and serves
	// IntrospectionConfig.Cache "redis").
	Replay *ReplayConfig `json:"replay,omitempty"`
}

// ReplayConfig is the replay store ([dpop.replay]): "memory" (default) or a Redis / Valkey
// server. Zero fields take the engine's defaults.
type ReplayConfig struct {
	Store string `json:"store,omitempty"`
	// redis://, rediss:// or unix://; or the name of an environment variable holding it.
	URL       string `json:"url,omitempty"`
	URLEnv    string `json:"url_env,omitempty"`
	KeyPrefix string `json:"key_prefix,omitempty"`
	TimeoutMs uint64 `json:"timeout_ms,omitempty"`
	PoolSize  uint64 `json:"pool_size,omitempty"`
}

// IssuerConfig is one trusted issuer: its keys and the rules its tokens must meet.
type IssuerConfig struct {
	Issuer    string   `json:"issuer"`
	Audiences []string `json:"audiences"`
	// The allow-list, exact names: HS256/384/512, RS256/384/512, PS256/384/512,
	// ES256/384/512, EdDSA, and RFC 9864's Ed25519, ESP256, ESP384, ESP512.
	Algorithms []string `json:"algorithms"`
	// Static keys. Exclusive with JWKSURI and Discovery.
	Keys []KeySource `json:"keys,omitempty"`
	// A remote JWKS, fetched and cached by the engine.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// Find jwks_uri through OIDC discovery on Issuer.
	Discovery bool `json:"discovery,omitempty"`
	// The remote key set policy; nil for the defaults.
	JWKSCache *JWKSCacheConfig `json:"jwks_cache,omitempty"`
	// Whether exp must be present; nil means the default (true).
	RequireExp     *bool    `json:"require_exp,omitempty"`
	RequiredClaims []string `json:"required_claims,omitempty"`
	// In seconds; nil means off.
	MaxAge      *uint64 `json:"max_age,omitempty"`
	MaxLifetime *uint64 `json:"max_lifetime,omitempty"`
	// Required typ header, such as "at+jwt".
	Typ string `json:"typ,omitempty"`
	// RFC 7662 introspection of this issuer's opaque tokens (at most one issuer).
	Introspection *IntrospectionConfig `json:"introspection,omitempty"`
}

// IntrospectionConfig calls an RFC 7662 endpoint for opaque tokens (Tokens "all": for
// every token) and caches its answers by the token's SHA-256. Zero fields take the
// engine's defaults.
type IntrospectionConfig struct {
	// Default: introspection_endpoint from discovery (the issuer needs Discovery).
	Endpoint string `json:"endpoint,omitempty"`
	// "opaque" (default) or "all".
	Tokens string `json:"tokens,omitempty"`
	// "basic" (default), "client_secret_post" or "bearer".
	Auth            string `json:"auth,omitempty"`
	ClientID        string `json:"client_id,omitempty"`
	ClientSecret    string `json:"client_secret,omitempty"`
	ClientSecretEnv string `json:"client_secret_env,omitempty"`
	CacheTTL        uint64 `json:"cache_ttl,omitempty"`
	NegativeTTL     uint64 `json:"negative_ttl,omitempty"`
	MaxEntries      uint64 `json:"max_entries,omitempty"`
	TimeoutMs       uint64 `json:"timeout_ms,omitempty"`
	AllowHTTP       bool   `json:"allow_http,omitempty"`
	// "memory" (default) or "redis": also shared through the server of DPoP.Replay (which
	// must use "redis"); Redis failing falls back to the endpoint.
	Cache string `json:"cache,omitempty"`
}

// JWKSCacheConfig is the remote key set policy (docs/design.md §4). Seconds unless named Ms; zero
// fields take the engine's defaults (use NewFromJSON to set one to zero).
type JWKSCacheConfig struct {
	TTL              uint64 `json:"ttl,omitempty"`
	MinTTL           uint64 `json:"min_ttl,omitempty"`
	MaxTTL           uint64 `json:"max_ttl,omitempty"`
	RefreshAhead     uint64 `json:"refresh_ahead,omitempty"`
	Cooldown         uint64 `json:"cooldown,omitempty"`
	MissingKidTTL    uint64 `json:"missing_kid_ttl,omitempty"`
	MaxStale         uint64 `json:"max_stale,omitempty"`
	ConnectTimeoutMs uint64 `json:"connect_timeout_ms,omitempty"`
	TimeoutMs        uint64 `json:"timeout_ms,omitempty"`
	MaxResponseSize  uint64 `json:"max_response_size,omitempty"`
	MaxRedirects     uint64 `json:"max_redirects,omitempty"`
	AllowHTTP        bool   `json:"allow_http,omitempty"`
	WaitAtStartup    bool   `json:"wait_at_startup,omitempty"`
}

// KeySource is one static key source: set exactly one field.
type KeySource struct {
	// A JWKS document (its JSON text).
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// A JWKS document in a file.
	JWKSFile string `json:"jwks_file,omitempty"`
	// A PEM public key.
	PEM *PEMKey `json:"pem,omitempty"`
	// An HMAC secret.
	Secret *SecretKey `json:"secret,omitempty"`
}

// PEMKey is a PEM public key, inline (Key) or in a file (Path).
type PEMKey struct {
	Key  string `json:"key,omitempty"`
	Path string `json:"path,omitempty"`
	Kid  string `json:"kid,omitempty"`
	Alg  string `json:"alg,omitempty"`
}

// SecretKey is an HMAC secret, inline (Value) or from an environment variable (Env).
type SecretKey struct {
	Value string `json:"value,omitempty"`
	Env   string `json:"env,omitempty"`
	// "utf8" (default), "base64" or "base64url".
	Encoding string `json:"encoding,omitempty"`
	Kid      string `json:"kid,omitempty"`
	Alg      string `json:"alg"`
}

// TokenSource is one place Middleware looks for the token: set exactly one field.
type TokenSource struct {
	Header *HeaderSource `json:"header,omitempty"`
	Cookie *NamedSource  `json:"cookie,omitempty"`
	Query  *NamedSource  `json:"query,omitempty"`
}

// HeaderSource is a header; with Scheme the value is "<scheme> <token>", with Prefix that
// exact prefix is trimmed.
type HeaderSource struct {
	Name   string `json:"name"`
	Scheme string `json:"scheme,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

// NamedSource is a cookie or query parameter name.
type NamedSource struct {
	Name string `json:"name"`
}
