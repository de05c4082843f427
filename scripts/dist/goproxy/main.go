// Command goproxy writes a Go module, from a directory laid out exactly as it would be
// tagged, into a file-system module proxy (GOPROXY=file://...): <module>/@v/list,
// <version>.info, <version>.mod and <version>.zip, the zip made by golang.org/x/mod/zip
// (the same rules and limits as the go command's).
//
//	go run ./scripts/dist/goproxy -module <path> -version v0.1.0 -dir <module dir> -out dist/goproxy
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func main() {
	modPath := flag.String("module", "", "module path")
	version := flag.String("version", "", "version, e.g. v0.1.0")
	dir := flag.String("dir", "", "the module's directory (holding go.mod)")
	out := flag.String("out", "", "the proxy's root directory")
	flag.Parse()
	mv := module.Version{Path: *modPath, Version: *version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		log.Fatal(err)
	}
	escaped, err := module.EscapePath(mv.Path)
	if err != nil {
		log.Fatal(err)
	}
	at := filepath.Join(*out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		log.Fatal(err)
	}
	z, err := os.Create(filepath.Join(at, mv.Version+".zip"))
	if err != nil {
		log.Fatal(err)
	}
	if err := zip.CreateFromDir(z, mv, *dir); err != nil {
		log.Fatal(err)
	}
	if err := z.Close(); err != nil {
		log.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(*dir, "go.mod"))
	if err != nil {
		log.Fatal(err)
	}
	info, _ := json.Marshal(struct{ Version, Time string }{mv.Version, time.Now().UTC().Format(time.RFC3339)})
	for name, text := range map[string][]byte{
		mv.Version + ".mod":  mod,
		mv.Version + ".info": info,
		"list":               []byte(mv.Version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(at, name), text, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%s@%s -> %s\n", mv.Path, mv.Version, at)
}
