package fakeaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
)

// InstanceCount is how many EC2 instances the fake's describe-instances
// answers for an account: 0 to 11, spread by the account id (about one
// account in twelve has none).
func InstanceCount(account string) int { return int(seed("ec2/"+account) % 12) }

// InstanceIDs returns the ids describe-instances answers for an account.
func InstanceIDs(account string) []string {
	out := make([]string, InstanceCount(account))
	for i := range out {
		out[i] = instanceID(account, i)
	}
	return out
}

func instanceID(account string, i int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", account, i)
	return fmt.Sprintf("i-%017x", h.Sum64())
}

// DescribeInstances answers "aws ec2 describe-instances" as the AWS CLI
// prints it (indented JSON, about 1.4 KB an instance), reservations of up
// to three instances.
func DescribeInstances(account, region string) string {
	n := InstanceCount(account)
	reservations := []map[string]any{}
	for i := 0; i < n; i += 3 {
		var instances []map[string]any
		for j := i; j < min(n, i+3); j++ {
			instances = append(instances, instance(account, region, j))
		}
		reservations = append(reservations, map[string]any{
			"Groups": []any{}, "Instances": instances, "OwnerId": account,
			"ReservationId": fmt.Sprintf("r-%017x", seed(fmt.Sprintf("%s/r%d", account, i))),
		})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "    ")
	_ = enc.Encode(map[string]any{"Reservations": reservations})
	return b.String()
}

func instance(account, region string, i int) map[string]any {
	id := instanceID(account, i)
	n := seed(id)
	ip := fmt.Sprintf("10.%d.%d.%d", n%200, (n>>8)%250, (n>>16)%250+2)
	state := map[string]any{"Code": 16, "Name": "running"}
	if n%5 == 0 {
		state = map[string]any{"Code": 80, "Name": "stopped"}
	}
	types := []string{"t3.micro", "m7g.large", "c7i.xlarge", "r6i.2xlarge"}
	subnet := fmt.Sprintf("subnet-%017x", seed(account+"/subnet"))
	vpc := fmt.Sprintf("vpc-%017x", seed(account+"/vpc"))
	return map[string]any{
		"AmiLaunchIndex":     0,
		"ImageId":            fmt.Sprintf("ami-%017x", seed(region+"/ami")),
		"InstanceId":         id,
		"InstanceType":       types[n%uint32(len(types))],
		"LaunchTime":         fmt.Sprintf("2026-%02d-%02dT08:%02d:11+00:00", n%12+1, n%28+1, n%60),
		"Placement":          map[string]any{"AvailabilityZone": region + string(rune('a'+n%3))},
		"PrivateDnsName":     "ip-" + ip + "." + region + ".compute.internal",
		"PrivateIpAddress":   ip,
		"State":              state,
		"SubnetId":           subnet,
		"VpcId":              vpc,
		"Architecture":       "x86_64",
		"EbsOptimized":       true,
		"EnaSupport":         true,
		"Hypervisor":         "xen",
		"KeyName":            "ops-" + region,
		"RootDeviceName":     "/dev/xvda",
		"RootDeviceType":     "ebs",
		"Tags":               []map[string]any{{"Key": "Name", "Value": fmt.Sprintf("app-%d", i)}},
		"VirtualizationType": "hvm",
	}
}
