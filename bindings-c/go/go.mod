module github.com/veritoken/veritoken/bindings-c/go

go 1.22
