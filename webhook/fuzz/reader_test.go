package fuzz

import (
	"context"
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// unreachable is an API server that answers no read.
type unreachable struct{}

var errUnreachable = errors.New("the API server is unreachable")

func (unreachable) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errUnreachable
}

func (unreachable) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errUnreachable
}
