package platform

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// SearchAttributeStatus is the outcome of registering one search attribute.
type SearchAttributeStatus struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Created bool   `json:"created"` // false: it was already registered with this type
}

// RegisterSearchAttributes makes sure the namespace has each custom search
// attribute with its type, through the OperatorService: the ones present
// are left alone, the missing ones added in one call. It fails, changing
// nothing, when a name is registered with another type. Idempotent.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) ([]SearchAttributeStatus, error) {
	op := c.OperatorService()
	list, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("listing search attributes of namespace %s: %w", namespace, operatorHint(err))
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var (
		out      []SearchAttributeStatus
		missing  = map[string]enumspb.IndexedValueType{}
		conflict []string
	)
	for _, n := range names {
		want := attrs[n]
		have, ok := list.GetCustomAttributes()[n]
		if !ok {
			have, ok = list.GetSystemAttributes()[n]
		}
		switch {
		case !ok:
			missing[n] = want
			out = append(out, SearchAttributeStatus{Name: n, Type: typeName(want), Created: true})
		case have != want:
			conflict = append(conflict, fmt.Sprintf("%s is registered as %s, batchinfer needs %s", n, typeName(have), typeName(want)))
		default:
			out = append(out, SearchAttributeStatus{Name: n, Type: typeName(want)})
		}
	}
	if len(conflict) > 0 {
		return nil, fmt.Errorf("search attributes of namespace %s: %s", namespace, strings.Join(conflict, "; "))
	}
	if len(missing) == 0 {
		return out, nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("adding search attributes to namespace %s: %w", namespace, operatorHint(err))
	}
	return out, nil
}

func typeName(t enumspb.IndexedValueType) string {
	s := strings.TrimPrefix(t.String(), "INDEXED_VALUE_TYPE_")
	switch s {
	case "KEYWORD_LIST":
		return "KeywordList"
	case "DATETIME":
		return "Datetime"
	}
	return s[:1] + strings.ToLower(s[1:])
}

// operatorHint explains the usual reason the OperatorService refuses.
func operatorHint(err error) error {
	var denied *serviceerror.PermissionDenied
	var unimpl *serviceerror.Unimplemented
	if errors.As(err, &denied) || errors.As(err, &unimpl) {
		return fmt.Errorf("%w (registering search attributes needs an admin of the cluster; on Temporal Cloud add them with tcld or the Cloud UI)", err)
	}
	return err
}
