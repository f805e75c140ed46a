// Command depclient drives a DEP-shaped service with nanodep's godep client, unmodified, the way an
// MDM vendor uses it: the service token (.p7m) is decrypted with nanodep's tokenpki, stored with the
// DEP origin as base URL in nanodep's in-memory storage, and every call goes through godep (whose
// transport signs /session with OAuth 1.0a and carries X-ADM-Auth-Session). Used by
// test/interop/nanodep.test.ts; it prints one JSON document with each step's result or error.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	depclient "github.com/micromdm/nanodep/client"
	"github.com/micromdm/nanodep/godep"
	"github.com/micromdm/nanodep/storage/inmem"
	"github.com/micromdm/nanodep/tokenpki"
)

// depName is nanodep's key for one DEP server (one service token) in its storage.
const depName = "dms-link"

type stepResult struct {
	Step   string      `json:"step"`
	OK     bool        `json:"ok"`
	Result interface{} `json:"result,omitempty"`
	Error  *stepError  `json:"error,omitempty"`
}

type stepError struct {
	// Kind is "auth" for a refused /session (depclient.AuthError), "http" for any other non-200
	// answer (godep.HTTPError), "other" for transport or decoding failures.
	Kind    string `json:"kind"`
	Status  int    `json:"status,omitempty"`
	Body    string `json:"body,omitempty"`
	Message string `json:"message"`
}

type options struct {
	baseURL    string
	p7m        string
	certPath   string
	keyPath    string
	steps      string
	serials    string
	cursor     string
	limit      int
	profile    string
	profileID  string
	protoVer   string
	timeoutSec int
}

func main() {
	var o options
	flag.StringVar(&o.baseURL, "base-url", "", "the DEP origin, e.g. http://127.0.0.1:3001/ (as a user configures nanodep)")
	flag.StringVar(&o.p7m, "token", "", "service token file (.p7m) as downloaded")
	flag.StringVar(&o.certPath, "cert", "", "the MDM's certificate (PEM) the token was encrypted to")
	flag.StringVar(&o.keyPath, "key", "", "the MDM's private key (PEM)")
	flag.StringVar(&o.steps, "steps", "session,account", "comma-separated: session, account, fetch, sync, define-profile, get-profile, assign-profile, remove-profile, details, disown")
	flag.StringVar(&o.serials, "serials", "", "comma-separated serial numbers for assign-profile, remove-profile, details, disown")
	flag.StringVar(&o.cursor, "cursor", "", "cursor for sync (default: the cursor of a fetch step in this run)")
	flag.IntVar(&o.limit, "limit", 0, "page size for fetch and sync (0: the server's default)")
	flag.StringVar(&o.profile, "profile", "", "profile JSON for define-profile")
	flag.StringVar(&o.profileID, "profile-uuid", "", "profile UUID for get-profile and assign-profile (default: the one define-profile returned)")
	flag.StringVar(&o.protoVer, "protocol-version", "", "X-Server-Protocol-Version to send (default: nanodep's)")
	flag.IntVar(&o.timeoutSec, "timeout", 60, "seconds for the whole run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "depclient: %v\n", err)
		os.Exit(2)
	}
}

func readCredentials(o options) (*depclient.OAuth1Tokens, error) {
	smime, err := os.ReadFile(o.p7m)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(o.certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(o.keyPath)
	if err != nil {
		return nil, err
	}
	certBlock, _ := pem.Decode(certPEM)
	if certBlock == nil {
		return nil, errors.New("no PEM certificate in -cert")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, err
	}
	keyBlock, _ := pem.Decode(keyPEM)
	if keyBlock == nil {
		return nil, errors.New("no PEM key in -key")
	}
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		if rsaKey, rsaErr := x509.ParsePKCS1PrivateKey(keyBlock.Bytes); rsaErr == nil {
			key = rsaKey
		} else {
			return nil, err
		}
	}
	tokenJSON, err := tokenpki.DecryptTokenJSON(smime, cert, key)
	if err != nil {
		return nil, fmt.Errorf("decrypting the service token with nanodep's tokenpki: %w", err)
	}
	tokens := new(depclient.OAuth1Tokens)
	if err := json.Unmarshal(tokenJSON, tokens); err != nil {
		return nil, fmt.Errorf("reading the token JSON: %w", err)
	}
	if !tokens.Valid() {
		return nil, errors.New("the token JSON lacks OAuth credentials")
	}
	return tokens, nil
}

// protocolVersionTransport sets X-Server-Protocol-Version before nanodep's transport would set its default.
type protocolVersionTransport struct {
	version string
	next    http.RoundTripper
}

func (t protocolVersionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req.Header.Set(depclient.ServerProtocolVersion, t.version)
	return t.next.RoundTrip(req)
}

func run(o options) error {
	if o.baseURL == "" || o.p7m == "" || o.certPath == "" || o.keyPath == "" {
		return errors.New("-base-url, -token, -cert and -key are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.timeoutSec)*time.Second)
	defer cancel()

	tokens, err := readCredentials(o)
	if err != nil {
		return err
	}
	store := inmem.New()
	if err := store.StoreAuthTokens(ctx, depName, tokens); err != nil {
		return err
	}
	if err := store.StoreConfig(ctx, depName, &depclient.Config{BaseURL: o.baseURL}); err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	opts := []godep.Option{}
	if o.protoVer != "" {
		// The header must be on the request before godep's transport sees it (it only fills a missing one).
		httpClient.Transport = protocolVersionTransport{version: o.protoVer, next: http.DefaultTransport}
	}
	opts = append(opts, godep.WithClient(httpClient))
	client := godep.NewClient(store, opts...)

	var serials []string
	if o.serials != "" {
		serials = strings.Split(o.serials, ",")
	}
	cursor := o.cursor
	profileID := o.profileID
	deviceOpts := func(c string) []godep.DeviceRequestOption {
		var out []godep.DeviceRequestOption
		if c != "" {
			out = append(out, godep.WithCursor(c))
		}
		if o.limit > 0 {
			out = append(out, godep.WithLimit(o.limit))
		}
		return out
	}

	var results []stepResult
	for _, step := range strings.Split(o.steps, ",") {
		step = strings.TrimSpace(step)
		var result interface{}
		var err error
		switch step {
		case "session":
			// What nanodep's transport does before its first call: GET /session resolved against the base URL.
			var req *http.Request
			req, err = depclient.NewRequestWithContext(ctx, depName, store, http.MethodGet, depclient.SessionEndpoint, nil)
			if err == nil {
				if o.protoVer != "" {
					req.Header.Set(depclient.ServerProtocolVersion, o.protoVer)
				}
				var session string
				session, err = depclient.DoAuth(http.DefaultClient, req, tokens)
				result = map[string]interface{}{"auth_session_token": session, "url": req.URL.String()}
			}
		case "account":
			result, err = client.AccountDetail(ctx, depName)
		case "fetch":
			result, cursor, err = fetchAll(ctx, client, deviceOpts)
		case "sync":
			var resp *godep.FetchDeviceResponseJson
			resp, err = client.SyncDevices(ctx, depName, deviceOpts(cursor)...)
			if err == nil {
				cursor = resp.Cursor
			}
			result = resp
		case "define-profile":
			profile := new(godep.ProfileJson)
			if err = json.Unmarshal([]byte(o.profile), profile); err == nil {
				var resp *godep.DefineProfileResponseJson
				resp, err = client.DefineProfile(ctx, depName, profile)
				if err == nil && resp.ProfileUuid != nil {
					profileID = *resp.ProfileUuid
				}
				result = resp
			}
		case "get-profile":
			result, err = client.GetProfile(ctx, depName, profileID)
		case "assign-profile":
			result, err = client.AssignProfile(ctx, depName, profileID, serials...)
		case "remove-profile":
			result, err = client.RemoveProfile(ctx, depName, serials...)
		case "details":
			result, err = client.DeviceDetails(ctx, depName, serials...)
		case "disown":
			result, err = client.DisownDevices(ctx, depName, serials...)
		default:
			return fmt.Errorf("unknown step %q", step)
		}
		if err != nil {
			results = append(results, stepResult{Step: step, Error: describe(err)})
		} else {
			results = append(results, stepResult{Step: step, OK: true, Result: result})
		}
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	return out.Encode(map[string]interface{}{"steps": results})
}

type fetchResult struct {
	Pages        int                `json:"pages"`
	Devices      []godep.DeviceJson `json:"devices"`
	Cursor       string             `json:"cursor"`
	FetchedUntil time.Time          `json:"fetched_until"`
}

// fetchAll pages through POST /server/devices until more_to_follow is false, as nanodep's syncer does.
func fetchAll(ctx context.Context, client *godep.Client, deviceOpts func(string) []godep.DeviceRequestOption) (*fetchResult, string, error) {
	all := &fetchResult{Devices: []godep.DeviceJson{}}
	cursor := ""
	for page := 0; page < 10000; page++ {
		resp, err := client.FetchDevices(ctx, depName, deviceOpts(cursor)...)
		if err != nil {
			return all, cursor, err
		}
		all.Pages++
		all.Devices = append(all.Devices, resp.Devices...)
		cursor = resp.Cursor
		all.Cursor = resp.Cursor
		all.FetchedUntil = resp.FetchedUntil
		if !resp.MoreToFollow {
			return all, cursor, nil
		}
	}
	return all, cursor, errors.New("more than 10000 pages")
}

func describe(err error) *stepError {
	var authErr *depclient.AuthError
	if errors.As(err, &authErr) {
		return &stepError{Kind: "auth", Status: authErr.StatusCode, Body: string(authErr.Body), Message: err.Error()}
	}
	var httpErr *godep.HTTPError
	if errors.As(err, &httpErr) {
		return &stepError{Kind: "http", Status: httpErr.StatusCode, Body: string(httpErr.Body), Message: err.Error()}
	}
	return &stepError{Kind: "other", Message: err.Error()}
}
