package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
)

// Target is one platform of the release.
type Target struct{ GOOS, GOARCH string }

func (t Target) String() string { return t.GOOS + "_" + t.GOARCH }

// exe is the binary's file name on the target.
func (t Target) exe() string {
	if t.GOOS == "windows" {
		return buildinfo.Program + ".exe"
	}
	return buildinfo.Program
}

// ReleaseTargets get an archive; BundleTargets (Claude Desktop's
// platforms) also get an MCP Bundle.
var (
	ReleaseTargets = []Target{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}}
	BundleTargets  = []Target{{"darwin", "arm64"}, {"darwin", "amd64"}, {"windows", "amd64"}}
)

// Release is one local build of the release into Dir.
type Release struct {
	Dir     string
	Targets []Target
	Bundles []Target
	// Version and Commit stamp the binaries; empty: from git.
	Version, Commit string
	// Root is the module's directory (default: the working directory).
	Root string
}

// Build writes every archive, bundle and SHA256SUMS, and returns their
// names.
func (r *Release) Build() ([]string, error) {
	if r.Root == "" {
		r.Root = "."
	}
	if err := r.stamp(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, err
	}
	docs, err := r.docs()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var written []string
	binaries := map[Target][]byte{}
	for _, t := range append(append([]Target(nil), r.Targets...), r.Bundles...) {
		if _, done := binaries[t]; done {
			continue
		}
		bin, err := r.compile(t, filepath.Join(work, t.String()))
		if err != nil {
			return nil, err
		}
		binaries[t] = bin
	}
	for _, t := range r.Targets {
		name, err := r.archive(t, binaries[t], docs)
		if err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	for _, t := range r.Bundles {
		name, err := r.bundle(t, binaries[t], docs)
		if err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	if err := r.sums(written); err != nil {
		return nil, err
	}
	return append(written, "SHA256SUMS"), nil
}

// stamp reads the version (the tag at HEAD, else 0.0.0-<commit>) and the
// commit from git, unless given.
func (r *Release) stamp() error {
	if r.Commit == "" {
		out, err := r.git("rev-parse", "HEAD")
		if err != nil {
			return fmt.Errorf("the commit: %w", err)
		}
		r.Commit = out
	}
	if r.Version == "" {
		if tag, err := r.git("describe", "--tags", "--exact-match", "HEAD"); err == nil && tag != "" {
			r.Version = tag
		} else {
			r.Version = "0.0.0-" + r.Commit[:min(12, len(r.Commit))]
		}
	}
	return nil
}

func (r *Release) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Root
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// docs are the files every archive and bundle carries beside the binary.
func (r *Release) docs() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, name := range []string{"README.md", "LICENSE"} {
		b, err := os.ReadFile(filepath.Join(r.Root, name))
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// compile builds the static binary of t.
func (r *Release) compile(t Target, out string) ([]byte, error) {
	pkg := buildinfo.Module + "/internal/buildinfo"
	ldflags := fmt.Sprintf("-s -w -X %s.versionOverride=%s -X %s.commitOverride=%s", pkg, r.Version, pkg, r.Commit)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, ".")
	cmd.Dir = r.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w\n%s", t, err, b)
	}
	return os.ReadFile(out)
}

// modTime is every archived file's time: the same build, the same bytes.
var modTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one file of an archive.
type entry struct {
	name string
	mode int64
	data []byte
}

// archive writes the .tar.gz (the .zip on windows) of t.
func (r *Release) archive(t Target, bin []byte, docs map[string][]byte) (string, error) {
	prefix := buildinfo.Program + "_" + t.String() + "/"
	files := []entry{{prefix + t.exe(), 0o755, bin}, {prefix + "README.md", 0o644, docs["README.md"]}, {prefix + "LICENSE", 0o644, docs["LICENSE"]}}
	if t.GOOS == "windows" {
		name := buildinfo.Program + "_" + t.String() + ".zip"
		return name, writeZip(filepath.Join(r.Dir, name), files)
	}
	name := buildinfo.Program + "_" + t.String() + ".tar.gz"
	return name, writeTarGz(filepath.Join(r.Dir, name), files)
}

// bundle writes the MCP Bundle of t: manifest.json, the binary under
// server/, README and LICENSE.
func (r *Release) bundle(t Target, bin []byte, docs map[string][]byte) (string, error) {
	manifest, err := Manifest(r.Version, t)
	if err != nil {
		return "", err
	}
	name := buildinfo.Program + "_" + t.String() + ".mcpb"
	return name, writeZip(filepath.Join(r.Dir, name), []entry{
		{"manifest.json", 0o644, manifest},
		{"server/" + t.exe(), 0o755, bin},
		{"README.md", 0o644, docs["README.md"]},
		{"LICENSE", 0o644, docs["LICENSE"]},
	})
}

// sums writes SHA256SUMS (sha256sum's format) over the files written.
func (r *Release) sums(names []string) error {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var b bytes.Buffer
	for _, name := range sorted {
		f, err := os.Open(filepath.Join(r.Dir, name))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
	}
	return os.WriteFile(filepath.Join(r.Dir, "SHA256SUMS"), b.Bytes(), 0o644)
}

func writeTarGz(path string, files []entry) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: modTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func writeZip(path string, files []entry) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		hdr := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modTime}
		hdr.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
