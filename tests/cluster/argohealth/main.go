// Command argohealth evaluates an Argo CD resource health script the way Argo CD does: in
// gopher-lua (the Lua VM Argo CD embeds), with the object as the global `obj`, and the
// table the script returns read for `status` and `message`.
//
// Usage: argohealth SCRIPT.lua < OBJECT.json   (prints {"status": ..., "message": ...})
package main

import (
	"encoding/json"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
)

type health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argohealth SCRIPT.lua < OBJECT.json")
		os.Exit(2)
	}
	var object any
	if err := json.NewDecoder(os.Stdin).Decode(&object); err != nil {
		fmt.Fprintf(os.Stderr, "argohealth: the object on stdin is not JSON: %v\n", err)
		os.Exit(2)
	}
	result, err := evaluate(os.Args[1], object)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argohealth: %v\n", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		os.Exit(1)
	}
}

func evaluate(script string, object any) (health, error) {
	vm := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer vm.Close()
	vm.SetGlobal("obj", toLua(vm, object))
	if err := vm.DoFile(script); err != nil {
		return health{}, fmt.Errorf("%s: %w", script, err)
	}
	table, ok := vm.Get(-1).(*lua.LTable)
	if !ok {
		return health{}, fmt.Errorf("%s returned %s, not a table", script, vm.Get(-1).Type())
	}
	return health{
		Status:  lua.LVAsString(table.RawGetString("status")),
		Message: lua.LVAsString(table.RawGetString("message")),
	}, nil
}

// toLua turns decoded JSON into Lua values as Argo CD hands objects to scripts: objects
// and arrays become tables (arrays 1-based), numbers become Lua numbers.
func toLua(vm *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		table := vm.NewTable()
		for _, item := range v {
			table.Append(toLua(vm, item))
		}
		return table
	case map[string]any:
		table := vm.NewTable()
		for key, item := range v {
			table.RawSetString(key, toLua(vm, item))
		}
		return table
	default:
		return lua.LString(fmt.Sprint(v))
	}
}
