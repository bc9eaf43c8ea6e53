package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/centralops/aws-mcp-multi-account/proxy/results/s3store"
)

// newS3Store keeps results in the configured bucket, through the SDK's S3
// client (AWS_ENDPOINT_URL_S3 points it elsewhere, path-style then).
func newS3Store(cfg Config, base aws.Config, w Wiring) *s3store.Store {
	client := s3.NewFromConfig(base, func(o *s3.Options) {
		if w.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(w.S3Endpoint)
		}
		// A custom endpoint (a local S3, MinIO, a VPC endpoint URL) has no
		// bucket subdomains.
		if w.S3Endpoint != "" || cfg.env("AWS_ENDPOINT_URL_S3") != "" || cfg.env("AWS_ENDPOINT_URL") != "" {
			o.UsePathStyle = true
		}
		// The objects are small JSON documents written once; request
		// checksums only where S3 requires them.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
	return s3store.New(client, s3store.Options{
		Bucket:   cfg.ResultsBucket,
		Prefix:   cfg.ResultsPrefix,
		TTL:      cfg.ResultTTL,
		KMSKeyID: cfg.ResultsKMSKey,
	})
}
