module dms-link/test/interop/depclient

go 1.24

require github.com/micromdm/nanodep v0.7.0

require (
	github.com/golang-jwt/jwt/v5 v5.0.0 // indirect
	github.com/gomodule/oauth1 v0.2.0 // indirect
	github.com/micromdm/nanolib v0.5.0 // indirect
	github.com/smallstep/pkcs7 v0.2.1 // indirect
	golang.org/x/crypto v0.33.0 // indirect
)
